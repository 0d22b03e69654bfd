"""Encoder–decoder models (many-to-many, input and output of different lengths).

    source ids -> Embedding -> recurrent_stack (any cell, bidirectional, depth) -> memory
    memory -> FinalStatePooling -> summary: the fixed-size sequence embedding
    [BOS] y1 .. yn, memory, summary -> AttentionDecoder -> logits for y1 .. yn [EOS]

``build_seq2seq`` returns the trainable model and, sharing its layers, the encoder alone and the
decoder layer, which ``seqtasks.decoding.encoder_decoder_loop`` steps inside exported graphs. The seam between
the two is ``attach_decoder``: any encoder whose outputs are ``{"memory" [batch, positions, dim],
"mask" [batch, positions], "summary" [batch, dim]}`` gets the same decoder, training model and
decoding (image captioning swaps the recurrent text encoder for a CNN feature grid).
"""

from __future__ import annotations

import dataclasses

import keras
from keras import ops

from seqtasks.errors import ConfigError
from seqtasks.layers.decoder import AttentionDecoder
from seqtasks.layers.pooling import FinalStatePooling
from seqtasks.layers.recurrent import recurrent_stack
# The config sections live in a module without TensorFlow; imported here for the model code.
from seqtasks.models.seq2seq_config import BeamConfig, DecodingConfig, Seq2SeqConfig  # noqa: F401
from seqtasks.text.vocab import PAD_ID


@dataclasses.dataclass
class Seq2Seq:
    trainer: keras.Model  # (encoder input, decoder input ids) -> logits [batch, time, vocab]
    encoder: keras.Model  # encoder input (source ids, images) -> {"memory", "mask", "summary"}
    decoder: AttentionDecoder


def decoder_width(config: Seq2SeqConfig) -> int:
    return config.decoder_units or config.units * (2 if config.bidirectional else 1)


def build_seq2seq(config: Seq2SeqConfig, source_vocab_size: int, target_vocab_size: int,
                  scheduled_sampling: bool = False, seed: int | None = None,
                  name: str = "seq2seq") -> Seq2Seq:
    source_ids = keras.Input(shape=(None,), dtype="int32", name="source_ids")
    x = keras.layers.Embedding(source_vocab_size, config.embedding_dim, mask_zero=True,
                               name="source_embedding")(source_ids)
    x = keras.layers.Dropout(config.dropout, name="source_dropout")(x)
    memory = recurrent_stack(x, config, return_sequences=True, name="encoder")
    summary = FinalStatePooling(config.bidirectional, name="final_state")(memory)
    mask = ops.not_equal(source_ids, PAD_ID)
    return attach_decoder(source_ids, {"memory": memory, "mask": mask, "summary": summary},
                          config, decoder_width(config), target_vocab_size, scheduled_sampling,
                          seed, name)


def attach_decoder(inputs, encoded: dict, config, units: int, target_vocab_size: int,
                   scheduled_sampling: bool = False, seed: int | None = None,
                   name: str = "seq2seq", attention_penalty: float = 0.0) -> Seq2Seq:
    """The attentional decoder (``units`` wide) over any encoder: ``inputs`` is the encoder's
    ``keras.Input``, ``encoded`` its symbolic ``{"memory", "mask", "summary"}``. ``config``
    supplies ``embedding_dim``, ``cell``, ``attention``, ``attention_units``, ``dropout`` and
    ``label_smoothing``."""
    if not 0 <= config.label_smoothing < 1:
        raise ConfigError(f"label_smoothing must be in [0, 1), got {config.label_smoothing}")
    decoder_inputs = keras.Input(shape=(None,), dtype="int32", name="decoder_inputs")
    decoder = AttentionDecoder(
        target_vocab_size, config.embedding_dim, config.cell, units, config.attention,
        config.attention_units, config.dropout, scheduled_sampling, seed,
        attention_penalty=attention_penalty, name="decoder")
    logits = decoder(decoder_inputs, encoded["memory"], encoded["summary"],
                     memory_mask=encoded["mask"])
    return Seq2Seq(
        trainer=keras.Model([inputs, decoder_inputs], logits, name=name),
        encoder=keras.Model(inputs, encoded, name=f"{name}_encoder"),
        decoder=decoder)
