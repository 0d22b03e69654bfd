"""seqtasks: recurrent sequence models for applied NLP, trained, evaluated and exported with Keras.

What users call:

    seqtasks.load(export_dir)              a predictor over an exported SavedModel
    seqtasks.Task                          the contract a task pipeline implements
    seqtasks.TrainConfig, TextConfig, RecurrentConfig   the shared config dataclasses

TensorFlow is imported lazily (by ``load`` and by training), so ``import seqtasks`` and
``seqtasks --help`` stay fast.
"""

__version__ = "0.1.0"

from seqtasks.config import RecurrentConfig, TextConfig, TrainConfig  # noqa: E402
from seqtasks.task import ExportAssets, Splits, Task  # noqa: E402


def load(path, version=None):
    """Load an exported model for inference (see ``seqtasks.inference.load.load``)."""
    from seqtasks.inference.load import load as _load

    return _load(path, version)


__all__ = ["load", "Task", "Splits", "ExportAssets", "TrainConfig", "TextConfig",
           "RecurrentConfig", "__version__"]
