"""Looking inside training: per-step gradient norms (``gradients``), gradient flow through time
(``flow``), the data-free adding-problem benchmark (``adding``) and their figures (``figures``)."""
