"""Language-model exports (kind ``language_model``): sampled continuations and text scores."""

from __future__ import annotations

import numpy as np
import pandas as pd

from seqtasks.errors import ConfigError
from seqtasks.inference.predictor import (BATCH, Predictor, as_strings, column_strings,
                                          one_or_many)


class LanguageModelPredictor(Predictor):
    """Language model: text scores (``predict`` and ``score``, as Keras models' ``predict`` gives
    scores and ``seqtasks predict`` scores a file) and sampled continuations of prompts
    (``generate``, the export's ``serving_default``)."""

    SCORE_BATCH = 32  # texts per call: scoring holds [batch, window, vocab] logits

    @one_or_many
    def generate(self, prompts=None, max_length: int | None = None, temperature: float = 1.0,
                 top_k: int = 0, top_p: float = 1.0, num_samples: int = 1, seed: int = 0,
                 allow_unk: bool = False) -> list[list[str]]:
        """``num_samples`` texts per prompt (one prompt: its list of texts; ``None``: one empty
        prompt, as a list of one list), each the prompt followed
        by its sampled continuation, which ends at [EOS] or after ``max_length`` tokens (default:
        the model's ``max_length``). ``temperature`` 0 is greedy; ``top_k`` 0 and ``top_p`` 1
        switch those filters off; ``allow_unk`` lets [UNK] be sampled. A seed repeats samples."""
        import tensorflow as tf

        prompts = [""] if prompts is None else as_strings(prompts, "prompts")
        if max_length is None:
            max_length = self.metadata["config"]["max_length"]
        for name, value, ok, rule in (
                ("max_length", max_length, max_length >= 1, ">= 1"),
                ("temperature", temperature, temperature >= 0, ">= 0 (0: greedy)"),
                ("top_k", top_k, top_k >= 0, ">= 0 (0: off)"),
                ("top_p", top_p, 0 < top_p <= 1, "in (0, 1] (1: off)"),
                ("num_samples", num_samples, num_samples >= 1, ">= 1")):
            if not ok:
                raise ConfigError(f"{name} must be {rule}, got {value}")
        per_call = max(1, BATCH // num_samples)
        samples: list[list[str]] = []
        for call, start in enumerate(range(0, len(prompts), per_call)):
            out = self.model.signatures["generate"](
                prompt=tf.constant(prompts[start : start + per_call], tf.string),
                max_length=tf.constant(max_length, tf.int32),
                temperature=tf.constant(temperature, tf.float32),
                top_k=tf.constant(top_k, tf.int32), top_p=tf.constant(top_p, tf.float32),
                num_samples=tf.constant(num_samples, tf.int32),
                seed=tf.constant(seed + call, tf.int32), allow_unk=tf.constant(allow_unk))
            texts = [text.decode("utf-8") for text in out["text"].numpy()]
            samples += [texts[i : i + num_samples] for i in range(0, len(texts), num_samples)]
        return samples

    def score_outputs(self, texts) -> dict[str, np.ndarray]:
        """The ``score`` signature's arrays: ``log_prob`` (natural log, each text's tokens given
        what precedes them), ``n_tokens`` and ``perplexity`` per text."""
        import tensorflow as tf

        texts = as_strings(texts)
        outputs: dict[str, list] = {"log_prob": [], "n_tokens": [], "perplexity": []}
        for start in range(0, len(texts), self.SCORE_BATCH):
            result = self.model.signatures["score"](
                text=tf.constant(texts[start : start + self.SCORE_BATCH], tf.string))
            for key in outputs:
                outputs[key].append(result[key].numpy())
        return {key: np.concatenate(values) if values else np.zeros(0)
                for key, values in outputs.items()}

    @one_or_many
    def score(self, texts) -> list[dict]:
        """``{"log_prob", "n_tokens", "perplexity"}`` per text (perplexity NaN without tokens):
        REST's answer row of the ``score`` signature."""
        out = self.score_outputs(texts)
        return [{"log_prob": float(log_prob), "n_tokens": int(n), "perplexity": float(ppl)}
                for log_prob, n, ppl in zip(out["log_prob"], out["n_tokens"], out["perplexity"])]

    def predict_list(self, inputs) -> list[dict]:
        """``score`` of each text."""
        return self.score(as_strings(inputs))

    def predict_frame(self, frame: pd.DataFrame, text_column: str = "text") -> pd.DataFrame:
        """The frame with ``log_prob``, ``n_tokens`` and ``perplexity`` columns."""
        out = self.score_outputs(column_strings(frame, text_column))
        result = frame.copy()
        for key, values in out.items():
            result[key] = values
        return result
