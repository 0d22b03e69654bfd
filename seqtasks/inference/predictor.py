"""The base of the predictors ``seqtasks.load`` returns, and the input checks they share.

Everything goes through the export's signatures, so what a predictor returns is what a serving
system returns. Inputs are validated here with errors that say which item is wrong.

Every predictor's ``predict`` takes what users hand it (HF pipelines, flair and spaCy alike): one
input (one result back), a list or Series (a list back, one result per input) or a DataFrame
(the same frame back with prediction columns added). The other public methods that take texts
(``translate``, ``score``, ``generate``, ``embed``...) take one text too, through ``one_or_many``.
"""

from __future__ import annotations

import functools
import inspect
from pathlib import Path
from typing import Callable, Iterator

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


def one_or_many(method: Callable) -> Callable:
    """``method(self, inputs, ...)`` over a list of inputs also takes one input (an instance of
    the predictor's ``single_input``: a string; an image path or bytes for a captioner) and then
    returns that one input's result instead of a list of one."""
    first = next(iter(list(inspect.signature(method).parameters)[1:]))  # after self

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        if args:
            inputs, args = args[0], args[1:]
        else:
            inputs = kwargs.pop(first, None)
        if isinstance(inputs, self.single_input):
            return method(self, [inputs], *args, **kwargs)[0]
        return method(self, inputs, *args, **kwargs)

    return wrapper


class Predictor:
    """Base: loads the SavedModel and its ``seqtasks.json``; ``predict`` dispatches on the input
    (one, a list, a DataFrame) to the subclass's ``predict_list`` and ``predict_frame``."""

    input_column = "text"  # the input column of a table, unless one is named
    single_input: tuple[type, ...] = (str,)  # what one input is (anything else: a list of them)

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

    def predict(self, inputs, text_column: str | None = None, **options):
        """One input -> one result; a list / tuple / Series -> a list of results, in order; a
        DataFrame -> a copy with prediction columns added (the input is ``text_column``, default
        ``input_column``). ``options`` are the subclass's (``beam_size``...)."""
        if isinstance(inputs, pd.DataFrame):
            return self.predict_frame(inputs, text_column or self.input_column, **options)
        if isinstance(inputs, self.single_input):
            return self.predict_list([inputs], **options)[0]
        return self.predict_list(inputs, **options)

    def predict_list(self, inputs, **options) -> list:
        raise NotImplementedError

    def predict_frame(self, frame: pd.DataFrame, text_column: str = "text", **options
                      ) -> pd.DataFrame:
        raise NotImplementedError

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
    subclass's ``decode`` does the work. ``predict`` gives one text per input, as REST gives
    ``serving_default``'s one output (``{"predictions": ["..."]}``)."""

    output_column = ""  # the column predict_frame adds

    def decode(self, inputs, beam_size: int | None = None) -> list[str]:
        raise NotImplementedError

    def predict_list(self, inputs, beam_size: int | None = None) -> list[str]:
        return self.decode(inputs, beam_size)

    def predict_frame(self, frame: pd.DataFrame, text_column: str | None = None,
                      beam_size: int | None = None) -> pd.DataFrame:
        inputs = column_strings(frame, text_column or self.input_column)
        return frame.assign(**{self.output_column: self.decode(inputs, beam_size)})
