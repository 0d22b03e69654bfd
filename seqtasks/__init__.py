"""seqtasks: recurrent sequence models for applied NLP, trained, evaluated and exported with Keras.

``seqtasks.load(export_dir)`` returns a predictor over an exported SavedModel. TensorFlow is
imported lazily so that ``import seqtasks`` and ``seqtasks --help`` stay fast.
"""

__version__ = "0.1.0"


def load(path, version=None):
    """Load an exported model for inference (see ``seqtasks.inference.load.load``)."""
    from seqtasks.inference.load import load as _load

    return _load(path, version)


__all__ = ["load", "__version__"]
