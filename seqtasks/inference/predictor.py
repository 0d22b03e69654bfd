"""The base of the predictors ``seqtasks.load`` returns, and the input checks they share.

Everything goes through the export's signatures, so what a predictor returns is what a serving
system returns. Inputs are validated here with errors that say which item is wrong.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd

from seqtasks.errors import DataError
from seqtasks.export.kinds import kind_of

BATCH = 256


def as_strings(inputs, what: str = "input") -> list[str]:
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

    input_column = "text"  # the input column of a table, unless one is named

    def __init__(self, export_dir: Path, metadata: dict):
        import tensorflow as tf
        import tensorflow_text  # noqa: F401  registers the tokenizer ops the graph uses

        self.export_dir = export_dir
        self.metadata = metadata
        self.task = metadata["task"]
        self.kind = kind_of(metadata)  # what the export is (seqtasks.export.kinds)
        self.model = tf.saved_model.load(str(export_dir))
        self.signature = self.model.signatures["serving_default"]

    def _batches(self, texts: list[str]) -> Iterator[dict[str, np.ndarray]]:
        """``serving_default`` outputs for ``BATCH`` texts at a time."""
        import tensorflow as tf

        for start in range(0, len(texts), BATCH):
            result = self.signature(text=tf.constant(texts[start : start + BATCH], tf.string))
            yield {key: value.numpy() for key, value in result.items()}

    def _run(self, texts: list[str]) -> dict[str, np.ndarray]:
        outputs: dict[str, list] = {}
        for batch in self._batches(texts):
            for key, value in batch.items():
                outputs.setdefault(key, []).append(value)
        return {k: np.concatenate(v) for k, v in outputs.items()}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} task={self.task} dir={self.export_dir}>"


def text_of(value: bytes) -> str:
    return value.decode("utf-8")


def column_strings(frame: pd.DataFrame, column: str) -> list[str]:
    """The strings of ``frame[column]``; a clear error when the column is missing."""
    if column not in frame.columns:
        raise DataError("DataFrame", f"missing column '{column}'",
                        hint=f"found columns: {', '.join(map(str, frame.columns))}")
    return as_strings(frame[column], what=f"column '{column}'")


class DecodingPredictor(Predictor):
    """Base of the predictors that decode one text per input (translations, captions): the
    subclass's ``decode`` does the work, ``predict`` takes lists and DataFrames alike."""

    output_column = ""  # the column predict_frame adds

    def decode(self, inputs, beam_size: int | None = None) -> list[str]:
        raise NotImplementedError

    def predict(self, inputs, text_column: str | None = None, beam_size: int | None = None):
        """list/Series -> list of texts; DataFrame -> DataFrame with ``output_column`` added
        (the input is ``text_column``, default ``input_column``)."""
        if isinstance(inputs, pd.DataFrame):
            return self.predict_frame(inputs, text_column, beam_size)
        return self.decode(inputs, beam_size)

    def predict_frame(self, frame: pd.DataFrame, text_column: str | None = None,
                      beam_size: int | None = None) -> pd.DataFrame:
        inputs = column_strings(frame, text_column or self.input_column)
        return frame.assign(**{self.output_column: self.decode(inputs, beam_size)})
