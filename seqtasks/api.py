"""``seqtasks.load(path)``: a Python predictor over an exported SavedModel.

Everything here goes through the export's signatures, so what the API returns is what a serving
system returns. Inputs are validated at this boundary with errors that say which item is wrong.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np
import pandas as pd

from seqtasks.errors import ConfigError, DataError, ModelError
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

    input_column = "text"  # the input column of a table, unless one is named

    def __init__(self, export_dir: Path, metadata: dict):
        import tensorflow as tf
        import tensorflow_text  # noqa: F401  registers the tokenizer ops the graph uses

        self.export_dir = export_dir
        self.metadata = metadata
        self.task = metadata["task"]
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


def _text(value: bytes) -> str:
    return value.decode("utf-8")


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
            tagged.append([_text(tag) for tag in tags[:length]])
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
        for out in self._batches(_as_strings(inputs)):
            for i, (length, count) in enumerate(zip(out["lengths"], out["entity_count"])):
                entities = [{"text": _text(out["entity_text"][i, j]),
                             "type": _text(out["entity_type"][i, j]),
                             "start": int(out["entity_start"][i, j]),
                             "end": int(out["entity_end"][i, j])} for j in range(count)]
                rows.append({"tokens": [_text(t) for t in out["tokens"][i, :length]],
                             "tags": [_text(t) for t in out["tags"][i, :length]],
                             "entities": entities})
        return rows

    def predict_frame(self, frame: pd.DataFrame, text_column: str = "text") -> pd.DataFrame:
        """The frame with an ``entities`` column (a list of entity dicts per row)."""
        if text_column not in frame.columns:
            raise DataError("DataFrame", f"missing column '{text_column}'",
                            hint=f"found columns: {', '.join(map(str, frame.columns))}")
        texts = _as_strings(frame[text_column], what=f"column '{text_column}'")
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

        prompts = [""] if prompts is None else _as_strings(prompts, "prompts")
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

        texts = _as_strings(texts)
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
        if text_column not in frame.columns:
            raise DataError("DataFrame", f"missing column '{text_column}'",
                            hint=f"found columns: {', '.join(map(str, frame.columns))}")
        out = self.score_outputs(_as_strings(frame[text_column], what=f"column '{text_column}'"))
        result = frame.copy()
        for key, values in out.items():
            result[key] = values
        return result


def translate_texts(translate: Callable, texts: Sequence[str], beam_size: int,
                    length_penalty: float, batch_size: int = 64) -> list[str]:
    """Translations through a ``translate`` function (text, beam_size, length_penalty): an
    export's signature, or the same function before export. Sentences go in batches of similar
    length (a batch decodes as long as its longest sentence); the output keeps the input order."""
    import tensorflow as tf

    if beam_size < 1:
        raise ConfigError(f"beam_size must be >= 1 (1: greedy), got {beam_size}")
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    translations = [""] * len(texts)
    for start in range(0, len(order), batch_size):
        batch = order[start : start + batch_size]
        result = translate(text=tf.constant([texts[i] for i in batch], tf.string),
                           beam_size=tf.constant(beam_size, tf.int32),
                           length_penalty=tf.constant(length_penalty, tf.float32))
        for i, translation in zip(batch, result["translation"].numpy()):
            translations[i] = _text(translation)
    return translations


def _column(frame: pd.DataFrame, column: str) -> list[str]:
    if column not in frame.columns:
        raise DataError("DataFrame", f"missing column '{column}'",
                        hint=f"found columns: {', '.join(map(str, frame.columns))}")
    return _as_strings(frame[column], what=f"column '{column}'")


class TranslationPredictor(Predictor):
    """Translation: sentences -> translations, greedy or beam search inside the export."""

    def translate(self, inputs, beam_size: int | None = None,
                  length_penalty: float | None = None) -> list[str]:
        """Translations of a list/Series of sentences; ``beam_size`` 1 is greedy decoding
        (defaults: the model's ``beam_size`` and ``length_penalty``)."""
        config = self.metadata["config"]
        return translate_texts(
            self.model.signatures["translate"], _as_strings(inputs),
            config["beam_size"] if beam_size is None else beam_size,
            config["length_penalty"] if length_penalty is None else length_penalty)

    def attention(self, inputs, beam_size: int = 1) -> list[dict]:
        """Per sentence ``{"translation", "source_tokens", "output_tokens", "weights"}``: weights
        [output tokens, source tokens] as the decoder attended (output tokens end with [EOS])."""
        import tensorflow as tf

        if "attention" not in self.model.signatures:
            raise ModelError(f"{self.export_dir}: this model was trained with attention=none, "
                             "so it has no attention weights")
        texts, rows = _as_strings(inputs), []
        for start in range(0, len(texts), BATCH):
            out = {key: value.numpy() for key, value in self.model.signatures["attention"](
                text=tf.constant(texts[start : start + BATCH], tf.string),
                beam_size=tf.constant(beam_size, tf.int32)).items()}
            for i, (n_in, n_out) in enumerate(zip(out["source_length"], out["output_length"])):
                rows.append({"translation": _text(out["translation"][i]),
                             "source_tokens": [_text(t) for t in out["source_tokens"][i, :n_in]],
                             "output_tokens": [_text(t) for t in out["output_tokens"][i, :n_out]],
                             "weights": out["weights"][i, :n_out, :n_in]})
        return rows

    def predict(self, inputs, text_column: str = "text", beam_size: int | None = None):
        """list/Series -> list of translations; DataFrame -> DataFrame with ``translation``."""
        if isinstance(inputs, pd.DataFrame):
            return self.predict_frame(inputs, text_column, beam_size)
        return self.translate(inputs, beam_size)

    def predict_frame(self, frame: pd.DataFrame, text_column: str = "text",
                      beam_size: int | None = None) -> pd.DataFrame:
        return frame.assign(translation=self.translate(_column(frame, text_column), beam_size))


def read_images(inputs) -> list[bytes]:
    """Image paths (str / Path) and encoded images (bytes) -> encoded images."""
    if isinstance(inputs, (str, bytes, Path)):
        raise DataError("input", f"expected a list of images, got a single "
                        f"{type(inputs).__name__}", hint="wrap it in a list: caption([image])")
    if isinstance(inputs, pd.Series):
        inputs = inputs.tolist()
    images = []
    for i, item in enumerate(inputs):
        if isinstance(item, (bytes, bytearray)):
            images.append(bytes(item))
        elif isinstance(item, (str, Path)):
            try:
                images.append(Path(item).read_bytes())
            except OSError as e:
                raise DataError(item, f"cannot read image {i} ({e.strerror})") from None
        else:
            raise DataError("input", f"item {i} is {type(item).__name__}, expected an image "
                            "path (str) or encoded image bytes")
    return images


def caption_images(caption: Callable, images: Sequence[bytes], beam_size: int,
                   length_penalty: float, batch_size: int = 64) -> list[str]:
    """Captions through a ``caption`` function (image_bytes, beam_size, length_penalty): an
    export's signature, or the same function before export."""
    import tensorflow as tf

    if beam_size < 1:
        raise ConfigError(f"beam_size must be >= 1 (1: greedy), got {beam_size}")
    captions: list[str] = []
    for start in range(0, len(images), batch_size):
        result = caption(image_bytes=tf.constant(list(images[start : start + batch_size]),
                                                 tf.string),
                         beam_size=tf.constant(beam_size, tf.int32),
                         length_penalty=tf.constant(length_penalty, tf.float32))
        captions += [_text(text) for text in result["caption"].numpy()]
    return captions


class CaptionPredictor(Predictor):
    """Image captioning: images (paths or encoded bytes) -> captions, greedy or beam search
    inside the export."""

    input_column = "image"
    IMAGE_BATCH = 64

    def caption(self, images, beam_size: int | None = None,
                length_penalty: float | None = None) -> list[str]:
        """Captions of a list/Series of image paths or encoded images (PNG, JPEG, ...);
        ``beam_size`` 1 is greedy (defaults: the model's ``beam_size`` and ``length_penalty``)."""
        config = self.metadata["config"]
        return caption_images(
            self.model.signatures["caption"], read_images(images),
            config["beam_size"] if beam_size is None else beam_size,
            config["length_penalty"] if length_penalty is None else length_penalty,
            self.IMAGE_BATCH)

    def attention(self, images, beam_size: int = 1) -> list[dict]:
        """Per image ``{"caption", "output_tokens", "attention"}``: attention [output tokens, grid
        height, grid width], one map per generated word and the final [EOS]."""
        import tensorflow as tf

        if "attention" not in self.model.signatures:
            raise ModelError(f"{self.export_dir}: this model was trained with attention=none, "
                             "so it has no attention maps")
        encoded, rows = read_images(images), []
        for start in range(0, len(encoded), self.IMAGE_BATCH):
            out = {key: value.numpy() for key, value in self.model.signatures["attention"](
                image_bytes=tf.constant(encoded[start : start + self.IMAGE_BATCH], tf.string),
                beam_size=tf.constant(beam_size, tf.int32)).items()}
            for i, n_out in enumerate(out["output_length"]):
                rows.append({"caption": _text(out["caption"][i]),
                             "output_tokens": [_text(t) for t in out["output_tokens"][i, :n_out]],
                             "attention": out["attention"][i, :n_out]})
        return rows

    def predict(self, inputs, text_column: str = "image", beam_size: int | None = None):
        """list/Series -> list of captions; DataFrame -> DataFrame with a ``caption`` column
        (``text_column`` holds image paths)."""
        if isinstance(inputs, pd.DataFrame):
            return self.predict_frame(inputs, text_column, beam_size)
        return self.caption(inputs, beam_size)

    def predict_frame(self, frame: pd.DataFrame, text_column: str = "image",
                      beam_size: int | None = None) -> pd.DataFrame:
        return frame.assign(caption=self.caption(_column(frame, text_column), beam_size))


class AutoencoderPredictor(TranslationPredictor):
    """Sequence autoencoder: fixed-size sentence embeddings (``embed``, the ``serving_default``
    signature) and reconstructions (``translate``)."""

    def embed(self, inputs) -> np.ndarray:
        """float32 [n, embedding size], one row per sentence."""
        texts = _as_strings(inputs)
        if not texts:
            return np.zeros((0, self.metadata["embedding_size"]), np.float32)
        return self._run(texts)["embedding"]

    def predict(self, inputs, text_column: str = "text", beam_size: int | None = None):
        """list/Series -> embeddings [n, size]; DataFrame -> DataFrame with ``embedding``."""
        if isinstance(inputs, pd.DataFrame):
            return self.predict_frame(inputs, text_column)
        return self.embed(inputs)

    def predict_frame(self, frame: pd.DataFrame, text_column: str = "text",
                      beam_size: int | None = None) -> pd.DataFrame:
        embeddings = self.embed(_column(frame, text_column))
        return frame.assign(embedding=[row.tolist() for row in embeddings])


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
