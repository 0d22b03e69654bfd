"""Sequence-to-sequence exports (kind ``sequence_to_sequence``, translation): sentences ->
translations, greedy or beam search inside the export."""

from __future__ import annotations

from typing import Callable, Sequence

from seqtasks.decoding.caps import MAX_BEAM_SIZE
from seqtasks.errors import ConfigError, ModelError
from seqtasks.inference.predictor import (BATCH, DecodingPredictor, as_strings,
                                          one_or_many, text_of)


def translate_texts(translate: Callable, texts: Sequence[str], beam_size: int,
                    length_penalty: float, batch_size: int = 64) -> list[str]:
    """Translations through a ``translate`` function (text, beam_size, length_penalty): an
    export's signature, or the same function before export. Sentences go in batches of similar
    length (a batch decodes as long as its longest sentence); the output keeps the input order."""
    import tensorflow as tf

    if not 1 <= beam_size <= MAX_BEAM_SIZE:
        raise ConfigError(f"beam_size must be >= 1 (1: greedy) and <= {MAX_BEAM_SIZE} (the "
                          f"export's cap), got {beam_size}")
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    translations = [""] * len(texts)
    for start in range(0, len(order), batch_size):
        batch = order[start : start + batch_size]
        result = translate(text=tf.constant([texts[i] for i in batch], tf.string),
                           beam_size=tf.constant(beam_size, tf.int32),
                           length_penalty=tf.constant(length_penalty, tf.float32))
        for i, translation in zip(batch, result["translation"].numpy()):
            translations[i] = text_of(translation)
    return translations


class TranslationPredictor(DecodingPredictor):
    """Translation: sentences -> translations, greedy or beam search inside the export."""

    output_column = "translation"

    @one_or_many
    def translate(self, inputs, beam_size: int | None = None,
                  length_penalty: float | None = None) -> list[str]:
        """Translations of a list/Series of sentences (one sentence: its translation);
        ``beam_size`` 1 is greedy decoding (defaults: the model's ``beam_size`` and
        ``length_penalty``)."""
        config = self.metadata["config"]
        return translate_texts(
            self.model.signatures["translate"], as_strings(inputs),
            config["beam_size"] if beam_size is None else beam_size,
            config["length_penalty"] if length_penalty is None else length_penalty)

    @one_or_many
    def attention(self, inputs, beam_size: int = 1) -> list[dict]:
        """Per sentence ``{"translation", "source_tokens", "output_tokens", "weights"}``: weights
        [output tokens, source tokens] as the decoder attended (output tokens end with [EOS])."""
        import tensorflow as tf

        if "attention" not in self.model.signatures:
            raise ModelError(f"{self.export_dir}: this model was trained with attention=none, "
                             "so it has no attention weights")
        texts, rows = as_strings(inputs), []
        for start in range(0, len(texts), BATCH):
            out = {key: value.numpy() for key, value in self.model.signatures["attention"](
                text=tf.constant(texts[start : start + BATCH], tf.string),
                beam_size=tf.constant(beam_size, tf.int32)).items()}
            for i, (n_in, n_out) in enumerate(zip(out["source_length"], out["output_length"])):
                rows.append({"translation": text_of(out["translation"][i]),
                             "source_tokens": [text_of(t) for t in out["source_tokens"][i, :n_in]],
                             "output_tokens": [text_of(t) for t in out["output_tokens"][i, :n_out]],
                             "weights": out["weights"][i, :n_out, :n_in]})
        return rows

    def decode(self, inputs, beam_size: int | None = None) -> list[str]:
        return self.translate(inputs, beam_size)
