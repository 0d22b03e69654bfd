"""Masked sequence pooling: [batch, time, features] + mask -> [batch, features]."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="seqtasks")
class MaskedMaxPooling(keras.layers.Layer):
    """Max over the unmasked time steps (an all-masked row pools to zeros)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            return ops.max(inputs, axis=1)
        valid = ops.expand_dims(ops.cast(mask, "bool"), -1)
        floor = ops.full_like(inputs, -1e9)
        pooled = ops.max(ops.where(valid, inputs, floor), axis=1)
        any_valid = ops.any(valid, axis=1)
        return ops.where(any_valid, pooled, ops.zeros_like(pooled))

    def compute_mask(self, inputs, mask=None):
        return None


@keras.saving.register_keras_serializable(package="seqtasks")
class AttentionPooling(keras.layers.Layer):
    """Learned weighted average of time steps (Yang et al., 2016 style): softmax(v . tanh(W h))."""

    def __init__(self, units: int = 64, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.supports_masking = True

    def build(self, input_shape):
        self.projection = keras.layers.Dense(self.units, activation="tanh", name="projection")
        self.projection.build(input_shape)
        self.score = keras.layers.Dense(1, use_bias=False, name="score")
        self.score.build((*input_shape[:-1], self.units))

    def call(self, inputs, mask=None):
        scores = ops.squeeze(self.score(self.projection(inputs)), -1)  # [batch, time]
        if mask is not None:
            scores = ops.where(ops.cast(mask, "bool"), scores, ops.full_like(scores, -1e9))
        weights = ops.softmax(scores, axis=-1)
        return ops.sum(inputs * ops.expand_dims(weights, -1), axis=1)

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@keras.saving.register_keras_serializable(package="seqtasks")
class FinalStatePooling(keras.layers.Layer):
    """The final state of a recurrent layer's output sequence: the output at the last unmasked
    step; for bidirectional outputs the forward half there and the backward half at step 0 (where
    the backward pass ends). An all-masked row pools to zeros."""

    def __init__(self, bidirectional: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.bidirectional = bidirectional
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            mask = ops.ones(ops.shape(inputs)[:2], dtype="bool")
        valid = ops.cast(mask, "int32")
        last = ops.maximum(ops.sum(valid, axis=1) - 1, 0)
        forward = ops.take_along_axis(inputs, ops.reshape(last, (-1, 1, 1)), axis=1)[:, 0]
        if self.bidirectional:
            half = ops.shape(inputs)[-1] // 2
            forward = ops.concatenate([forward[:, :half], inputs[:, 0, half:]], axis=-1)
        any_valid = ops.any(ops.cast(mask, "bool"), axis=1, keepdims=True)
        return ops.where(any_valid, forward, ops.zeros_like(forward))

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        return {**super().get_config(), "bidirectional": self.bidirectional}
