"""The Task contract (``base``) and the shared bases tasks build on (``encoder_decoder``)."""

from seqtasks.task.base import ExportAssets, Splits, Task

__all__ = ["ExportAssets", "Splits", "Task"]
