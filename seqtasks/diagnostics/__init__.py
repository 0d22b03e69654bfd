"""Looking inside training: per-step gradient norms (``gradient_log``) and gradient flow through
time (``flow``). Nothing here imports ``seqtasks.training``."""
