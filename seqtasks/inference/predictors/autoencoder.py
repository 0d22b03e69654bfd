"""Sequence autoencoder exports (kind ``sequence_autoencoder``): sentence embeddings, and
reconstructions as a translation model gives them."""

from __future__ import annotations

import numpy as np
import pandas as pd

from seqtasks.inference.predictor import as_strings, column_strings, one_or_many
from seqtasks.inference.predictors.translation import TranslationPredictor


class AutoencoderPredictor(TranslationPredictor):
    """Sequence autoencoder: fixed-size sentence embeddings (``embed``, the ``serving_default``
    signature) and reconstructions (``translate``)."""

    @one_or_many
    def embed(self, inputs) -> np.ndarray:
        """float32 [n, embedding size], one row per sentence (one sentence: one row)."""
        texts = as_strings(inputs)
        if not texts:
            return np.zeros((0, self.metadata["embedding_size"]), np.float32)
        return self._run(texts)["embedding"]

    def predict_list(self, inputs, beam_size: int | None = None) -> np.ndarray:
        """Embeddings [n, size] (REST's ``serving_default`` answer, ``embedding`` its one
        output); reconstructions are ``translate``'s."""
        return self.embed(inputs)

    def predict_frame(self, frame: pd.DataFrame, text_column: str = "text",
                      beam_size: int | None = None) -> pd.DataFrame:
        embeddings = self.embed(column_strings(frame, text_column))
        return frame.assign(embedding=[row.tolist() for row in embeddings])
