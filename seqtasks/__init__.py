"""seqtasks: recurrent sequence models for applied NLP, trained, evaluated and exported with Keras.

What users call:

    seqtasks.load(export_dir)              a predictor over an exported SavedModel
    seqtasks.train(task, config, train, valid, out_dir)   train a Task (files or in-memory
                                           data, callbacks=[...]), export it
    seqtasks.Task                          the contract a task pipeline implements
    seqtasks.TrainConfig, TextConfig, RecurrentConfig   the shared config dataclasses

TensorFlow is imported lazily (by ``load`` and by training), so ``import seqtasks`` and
``seqtasks --help`` stay fast.
"""

__version__ = "0.1.0"

from seqtasks.config import RecurrentConfig, TextConfig, TrainConfig  # noqa: E402
from seqtasks.task import Built, ExportAssets, Splits, Task  # noqa: E402


def load(path, version=None):
    """Load an exported model for inference (see ``seqtasks.inference.load.load``)."""
    from seqtasks.inference.load import load as _load

    return _load(path, version)


def train(task, config, train_paths, valid_paths, out_dir, verbose="auto", callbacks=(),
          **options):
    """Train ``task`` and export it (see ``seqtasks.training.lifecycle.train``): the training
    and validation data are file paths or in-memory examples in the task's natural form;
    ``callbacks`` are Keras callbacks called during fit."""
    from seqtasks.training.lifecycle import train as _train

    return _train(task, config, train_paths, valid_paths, out_dir, verbose, callbacks,
                  **options)


__all__ = ["load", "train", "Task", "Splits", "ExportAssets", "Built", "TrainConfig",
           "TextConfig", "RecurrentConfig", "__version__"]
