"""The Task contract (``base``), the optional capabilities some tasks add (``capabilities``) and
the shared bases tasks build on (``encoder_decoder``)."""

from seqtasks.task.base import Built, ExportAssets, Prepared, Splits, Task

__all__ = ["Built", "ExportAssets", "Prepared", "Splits", "Task"]
