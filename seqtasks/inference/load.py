"""``seqtasks.load(path)``: a Python predictor over an exported SavedModel, chosen by the
export's task; the text classifier, tagger and language-model predictors.

Everything here goes through the export's signatures, so what the API returns is what a serving
system returns (``seqtasks.inference.predictor`` validates the inputs).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from seqtasks.errors import ConfigError, ModelError
from seqtasks.export.layout import read_metadata, resolve_export
from seqtasks.inference.predictor import BATCH, Predictor, as_strings, column_strings, text_of
from seqtasks.inference.predictors.translation import (AutoencoderPredictor, CaptionPredictor,
                                         TranslationPredictor)


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


def tag_sentences(tag_tokens: Callable, sentences: Sequence[Sequence[str]]) -> list[list[str]]:
    """Tags of tokenized sentences through a ``tag_tokens`` function (tokens [batch, time] padded
    with "" -> tags, lengths): an export's signature, or the same function before export."""
    import tensorflow as tf

    tagged: list[list[str]] = []
    for start in range(0, len(sentences), BATCH):
        batch = [list(sentence) for sentence in sentences[start : start + BATCH]]
        width = max(1, *map(len, batch))
        padded = tf.constant([sentence + [""] * (width - len(sentence)) for sentence in batch],
                             tf.string)
        result = tag_tokens(tokens=padded)
        for tags, length in zip(result["tags"].numpy(), result["lengths"].numpy()):
            tagged.append([text_of(tag) for tag in tags[:length]])
    return tagged


class TaggerPredictor(Predictor):
    """Sequence tagging (NER): tokens, one tag per token, and entities with character offsets."""

    @property
    def tags(self) -> list[str]:
        return list(self.metadata["tags"])

    def predict(self, inputs, text_column: str = "text"):
        """list/Series of strings -> list of ``{"tokens", "tags", "entities"}`` dicts, each entity
        ``{"text", "type", "start", "end"}`` with ``text == input[start:end]``; a DataFrame ->
        DataFrame with an ``entities`` column."""
        if isinstance(inputs, pd.DataFrame):
            return self.predict_frame(inputs, text_column)
        rows = []
        for out in self._batches(as_strings(inputs)):
            for i, (length, count) in enumerate(zip(out["lengths"], out["entity_count"])):
                entities = [{"text": text_of(out["entity_text"][i, j]),
                             "type": text_of(out["entity_type"][i, j]),
                             "start": int(out["entity_start"][i, j]),
                             "end": int(out["entity_end"][i, j])} for j in range(count)]
                rows.append({"tokens": [text_of(t) for t in out["tokens"][i, :length]],
                             "tags": [text_of(t) for t in out["tags"][i, :length]],
                             "entities": entities})
        return rows

    def predict_frame(self, frame: pd.DataFrame, text_column: str = "text") -> pd.DataFrame:
        """The frame with an ``entities`` column (a list of entity dicts per row)."""
        texts = column_strings(frame, text_column)
        result = frame.copy()
        result["entities"] = [row["entities"] for row in self.predict(texts)]
        return result

    def tag_tokens(self, sentences: Sequence[Sequence[str]]) -> list[list[str]]:
        """Tags of already tokenized sentences (CoNLL-style evaluation), via ``tag_tokens``."""
        return tag_sentences(self.model.signatures["tag_tokens"], sentences)


class LanguageModelPredictor(Predictor):
    """Language model: samples continuing prompts (``generate``) and text scores (``score``)."""

    SCORE_BATCH = 32  # texts per call: scoring holds [batch, window, vocab] logits

    def generate(self, prompts=None, max_length: int | None = None, temperature: float = 1.0,
                 top_k: int = 0, top_p: float = 1.0, num_samples: int = 1, seed: int = 0,
                 allow_unk: bool = False) -> list[list[str]]:
        """``num_samples`` texts per prompt (``None``: one empty prompt), each the prompt followed
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

    def score(self, texts) -> list[dict]:
        """``{"log_prob", "n_tokens", "perplexity"}`` per text (perplexity NaN without tokens)."""
        out = self.score_outputs(texts)
        return [{"log_prob": float(log_prob), "n_tokens": int(n), "perplexity": float(ppl)}
                for log_prob, n, ppl in zip(out["log_prob"], out["n_tokens"], out["perplexity"])]

    def predict_frame(self, frame: pd.DataFrame, text_column: str = "text") -> pd.DataFrame:
        """The frame with ``log_prob``, ``n_tokens`` and ``perplexity`` columns."""
        out = self.score_outputs(column_strings(frame, text_column))
        result = frame.copy()
        for key, values in out.items():
            result[key] = values
        return result


PREDICTORS = {"sentiment": ClassifierPredictor, "ner": TaggerPredictor,
              "lm": LanguageModelPredictor, "translate": TranslationPredictor,
              "autoencoder": AutoencoderPredictor, "caption": CaptionPredictor}


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
