"""Text classification exports (kind ``classifier``)."""

from __future__ import annotations

import pandas as pd

from seqtasks.inference.predictor import Predictor, as_strings, column_strings


class ClassifierPredictor(Predictor):
    """Text classification: one label and a probability per label for each input."""

    @property
    def labels(self) -> list[str]:
        return list(self.metadata["labels"])

    def predict_list(self, inputs) -> list[dict]:
        """``{"label": str, "probabilities": [float, ...]}`` per input: REST's answer row,
        probabilities in the order of ``labels`` (``probabilities_by_label`` names them)."""
        texts = as_strings(inputs)
        if not texts:
            return []
        out = self._run(texts)
        return [{"label": label.decode("utf-8"), "probabilities": [float(p) for p in probs]}
                for label, probs in zip(out["label"], out["probabilities"])]

    def probabilities_by_label(self, result: dict) -> dict[str, float]:
        """``{label: probability}`` of one ``predict`` result (or REST answer row)."""
        return dict(zip(self.labels, result["probabilities"]))

    def predict_frame(self, frame: pd.DataFrame, text_column: str = "text") -> pd.DataFrame:
        """The frame with ``predicted_label`` and ``prob_<label>`` for every label."""
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
