"""The serving model API in one import: loaded versions (``serving.loaded``), served models and
their version policy (``serving.served``), and ``load_models`` (``serving.manager``).

Any SavedModel in TF Serving's layout (``BASE/<version>/saved_model.pb``, ``00000123`` being
version 123) is served from its SignatureDefs alone; a ``seqtasks.json`` beside it only adds the
extras (label names, metrics) to the metadata.
"""

from __future__ import annotations

from pathlib import Path

from seqtasks.export.layout import SAVED_MODEL_FILES, list_versions, saved_model_file
from seqtasks.serving.loaded import (CLASSIFY, PREDICT, REGRESS, LoadedVersion, SessionThreads,
                                     Signature, TensorInfo, numpy_dtype)
from seqtasks.serving.manager import load_models
from seqtasks.serving.served import ServedModel, VersionPolicy, parse_model_argument

__all__ = ["CLASSIFY", "PREDICT", "REGRESS", "SAVED_MODEL_FILES", "LoadedVersion",
           "ServedModel", "SessionThreads", "Signature", "TensorInfo", "VersionPolicy",
           "load_models", "numpy_dtype", "parse_model_argument", "saved_model_file",
           "version_dirs"]


def version_dirs(base: str | Path) -> dict[int, Path]:
    """The complete version folders under ``base`` (``export.layout.list_versions``)."""
    return list_versions(base).versions
