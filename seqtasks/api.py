"""``seqtasks.load(path)``: a Python predictor over an exported SavedModel.

Everything here goes through the export's signatures, so what the API returns is what a serving
system returns. Inputs are validated at this boundary with errors that say which item is wrong.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from seqtasks.errors import DataError, ModelError
from seqtasks.export import read_metadata, resolve_export

BATCH = 256


def _as_strings(inputs, what: str = "input") -> list[str]:
    """list[str] | tuple | pandas.Series -> list[str]; None/NaN -> "" ; anything else is an error."""
    if isinstance(inputs, str):
        raise DataError(what, "expected a list of strings, got a single string",
                        hint="wrap it in a list: predict([text])")
    if isinstance(inputs, pd.Series):
        inputs = inputs.tolist()
    texts = []
    for i, item in enumerate(inputs):
        if item is None or (isinstance(item, float) and np.isnan(item)):
            texts.append("")
        elif isinstance(item, str):
            texts.append(item)
        else:
            raise DataError(what, f"item {i} is {type(item).__name__}, expected str")
    return texts


class Predictor:
    """Base: loads the SavedModel and its ``seqtasks.json``."""

    def __init__(self, export_dir: Path, metadata: dict):
        import tensorflow as tf
        import tensorflow_text  # noqa: F401  registers the tokenizer ops the graph uses

        self.export_dir = export_dir
        self.metadata = metadata
        self.task = metadata["task"]
        self.model = tf.saved_model.load(str(export_dir))
        self.signature = self.model.signatures["serving_default"]

    def _run(self, texts: list[str]) -> dict[str, np.ndarray]:
        import tensorflow as tf

        outputs: dict[str, list] = {}
        for start in range(0, len(texts), BATCH):
            result = self.signature(text=tf.constant(texts[start : start + BATCH], tf.string))
            for key, value in result.items():
                outputs.setdefault(key, []).append(value.numpy())
        return {k: np.concatenate(v) for k, v in outputs.items()}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} task={self.task} dir={self.export_dir}>"


class ClassifierPredictor(Predictor):
    """Text classification: one label and a probability per label for each input."""

    @property
    def labels(self) -> list[str]:
        return list(self.metadata["labels"])

    def predict(self, inputs, text_column: str = "text"):
        """list/Series of strings -> list of dicts; DataFrame -> DataFrame with prediction columns.

        Each dict is ``{"label": str, "probabilities": {label: float}}``. A DataFrame keeps its
        columns and gains ``predicted_label`` and ``prob_<label>`` for every label.
        """
        if isinstance(inputs, pd.DataFrame):
            return self.predict_frame(inputs, text_column)
        texts = _as_strings(inputs)
        if not texts:
            return []
        out = self._run(texts)
        return [
            {"label": label.decode("utf-8"),
             "probabilities": {name: float(p) for name, p in zip(self.labels, probs)}}
            for label, probs in zip(out["label"], out["probabilities"])
        ]

    def predict_frame(self, frame: pd.DataFrame, text_column: str = "text") -> pd.DataFrame:
        if text_column not in frame.columns:
            raise DataError("DataFrame", f"missing column '{text_column}'",
                            hint=f"found columns: {', '.join(map(str, frame.columns))}")
        texts = _as_strings(frame[text_column], what=f"column '{text_column}'")
        result = frame.copy()
        if not texts:
            result["predicted_label"] = pd.Series(dtype=str)
            return result
        out = self._run(texts)
        result["predicted_label"] = [label.decode("utf-8") for label in out["label"]]
        for i, name in enumerate(self.labels):
            result[f"prob_{name}"] = out["probabilities"][:, i]
        return result


PREDICTORS = {"sentiment": ClassifierPredictor}


def load(path: str | Path, version: int | None = None) -> Predictor:
    """Load an export root (newest version, or ``version``) or a version directory."""
    export_dir = resolve_export(path, version)
    metadata = read_metadata(export_dir)
    task = metadata.get("task")
    if task not in PREDICTORS:
        raise ModelError(f"{export_dir}: unknown task '{task}' in seqtasks.json "
                         f"(this seqtasks knows: {', '.join(PREDICTORS)})")
    return PREDICTORS[task](export_dir, metadata)


def predict(path: str | Path, inputs: Sequence[str] | pd.Series | pd.DataFrame, **kwargs):
    """One-shot convenience: ``load(path).predict(inputs)``."""
    return load(path).predict(inputs, **kwargs)
