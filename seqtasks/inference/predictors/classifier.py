"""Text classification exports (kind ``classifier``)."""

from __future__ import annotations

import pandas as pd

from seqtasks.inference.predictor import Predictor, as_strings, column_strings


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
        texts = as_strings(inputs)
        if not texts:
            return []
        out = self._run(texts)
        return [
            {"label": label.decode("utf-8"),
             "probabilities": {name: float(p) for name, p in zip(self.labels, probs)}}
            for label, probs in zip(out["label"], out["probabilities"])
        ]

    def predict_frame(self, frame: pd.DataFrame, text_column: str = "text") -> pd.DataFrame:
        texts = column_strings(frame, text_column)
        result = frame.copy()
        if not texts:
            result["predicted_label"] = pd.Series(dtype=str)
            return result
        out = self._run(texts)
        result["predicted_label"] = [label.decode("utf-8") for label in out["label"]]
        for i, name in enumerate(self.labels):
            result[f"prob_{name}"] = out["probabilities"][:, i]
        return result
