"""``seqtasks.load(path)``: a Python predictor over an exported SavedModel, chosen by the
export's kind (``seqtasks.export.kinds``; an export without one, by its task).

Everything goes through the export's signatures, so what the API returns is what a serving
system returns (``seqtasks.inference.predictor`` validates the inputs).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import pandas as pd

from seqtasks.errors import ModelError
from seqtasks.export.kinds import kind_of
from seqtasks.export.layout import read_metadata, resolve_export
from seqtasks.inference.predictor import Predictor
from seqtasks.inference.predictors import PREDICTORS


def load(path: str | Path, version: int | None = None) -> Predictor:
    """Load an export root (newest version, or ``version``) or a version directory."""
    export_dir = resolve_export(path, version)
    metadata = read_metadata(export_dir)
    kind = kind_of(metadata)
    if kind not in PREDICTORS:
        raise ModelError(f"{export_dir}: seqtasks.json describes a model this seqtasks cannot "
                         f"load (kind {metadata.get('kind')!r}, task {metadata.get('task')!r}); "
                         f"it loads: {', '.join(PREDICTORS)}")
    return PREDICTORS[kind](export_dir, metadata)


def predict(path: str | Path, inputs: str | Sequence[str] | pd.Series | pd.DataFrame,
            **kwargs):
    """One-shot convenience: ``load(path).predict(inputs)``, for every kind of export (one
    input -> one result, a list -> a list, a DataFrame -> a DataFrame)."""
    return load(path).predict(inputs, **kwargs)
