"""Attention over a memory: Bahdanau (additive) and Luong (dot, general) scores.

Each layer reads a query [batch, query_dim] and keys [batch, positions, key_dim] with an optional
mask [batch, positions] (True = real position), and returns the context [batch, key_dim] (the
keys are also the values) and the weights [batch, positions]: a softmax over the unmasked
positions, exactly 0 on masked ones. Nothing here is about text: a translation decoder attends
over encoder states, a captioning decoder over a CNN feature grid flattened to positions.

A decoder asks once per output step, so the part of the score that depends on the keys alone is
computed once per memory by ``prepare(keys)`` and passed back as ``prepared``.

    Bahdanau et al. (2015):  score(q, k) = v . tanh(W_q q + W_k k)
    Luong et al. (2015):     dot: score(q, k) = q . k      general: score(q, k) = q . (W k)
"""

from __future__ import annotations

import keras
from keras import ops

from seqtasks.errors import ConfigError

NEGATIVE = -1e9  # a score no real position reaches: its softmax weight underflows to exactly 0


def masked_softmax(scores, mask=None):
    """Softmax over the last axis, ignoring masked positions (a row with none left is all 0)."""
    if mask is None:
        return ops.softmax(scores, axis=-1)
    mask = ops.cast(mask, "bool")
    weights = ops.softmax(ops.where(mask, scores, ops.full_like(scores, NEGATIVE)), axis=-1)
    return ops.where(mask, weights, ops.zeros_like(weights))


class Attention(keras.layers.Layer):
    """Base class: ``call(query, keys, mask=None, prepared=None) -> (context, weights)``."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True  # the mask is an argument; outputs carry none

    def compute_mask(self, *args, **kwargs):
        return None

    def prepare(self, keys):
        """What ``score`` needs from the keys, computed once per memory."""
        return keys

    def score(self, query, prepared):
        raise NotImplementedError

    def call(self, query, keys, mask=None, prepared=None):
        if prepared is None:
            prepared = self.prepare(keys)
        weights = masked_softmax(self.score(query, prepared), mask)
        context = ops.einsum("bp,bpd->bd", weights, keys)
        return context, weights


@keras.saving.register_keras_serializable(package="seqtasks")
class BahdanauAttention(Attention):
    """Additive attention with ``units`` hidden units."""

    def __init__(self, units: int = 128, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.query_projection = keras.layers.Dense(units, use_bias=False, name="query_projection")
        self.key_projection = keras.layers.Dense(units, name="key_projection")
        self.energy = keras.layers.Dense(1, use_bias=False, name="energy")

    def build(self, query_shape, keys_shape, prepared_shape=None):
        self.query_projection.build(query_shape)
        self.key_projection.build(keys_shape)
        self.energy.build((*keys_shape[:-1], self.units))

    def prepare(self, keys):
        return self.key_projection(keys)

    def score(self, query, prepared):
        hidden = ops.tanh(prepared + ops.expand_dims(self.query_projection(query), 1))
        return ops.squeeze(self.energy(hidden), -1)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@keras.saving.register_keras_serializable(package="seqtasks")
class LuongAttention(Attention):
    """Multiplicative attention: ``score="dot"`` (query and key sizes must match) or
    ``"general"`` (a learned matrix between them)."""

    SCORES = ("dot", "general")

    def __init__(self, score: str = "general", **kwargs):
        super().__init__(**kwargs)
        if score not in self.SCORES:
            raise ConfigError(f"Unknown Luong score '{score}'. Expected one of: "
                              f"{', '.join(self.SCORES)}")
        self.score_name = score
        self.key_projection = None

    def build(self, query_shape, keys_shape, prepared_shape=None):
        if self.score_name == "general":
            self.key_projection = keras.layers.Dense(query_shape[-1], use_bias=False,
                                                     name="key_projection")
            self.key_projection.build(keys_shape)
        elif query_shape[-1] != keys_shape[-1]:
            raise ConfigError(
                f"Luong dot attention needs queries and keys of the same size, got "
                f"{query_shape[-1]} and {keys_shape[-1]}: use attention=luong_general, or make "
                "the decoder as wide as the encoder's outputs")

    def prepare(self, keys):
        return keys if self.key_projection is None else self.key_projection(keys)

    def score(self, query, prepared):
        return ops.einsum("bd,bpd->bp", query, prepared)

    def get_config(self):
        return {**super().get_config(), "score": self.score_name}


ATTENTIONS = {
    "bahdanau": lambda units: BahdanauAttention(units, name="bahdanau_attention"),
    "luong_dot": lambda units: LuongAttention("dot", name="luong_dot_attention"),
    "luong_general": lambda units: LuongAttention("general", name="luong_general_attention"),
}
ATTENTION_CHOICES = ("none", *ATTENTIONS)


def make_attention(name: str, units: int) -> Attention | None:
    """An attention layer by name; ``none`` gives None (a decoder without attention)."""
    if name not in ATTENTION_CHOICES:
        raise ConfigError(f"Unknown attention '{name}'. Expected one of: "
                          f"{', '.join(ATTENTION_CHOICES)}")
    return None if name == "none" else ATTENTIONS[name](units)
