"""Losses over token logits shared by the sequence-generating pipelines."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="seqtasks")
class SmoothedSparseCrossentropy(keras.losses.Loss):
    """Cross-entropy of integer targets [batch, time] against logits [batch, time, vocab], with
    label smoothing (Szegedy et al., 2016): the target distribution puts 1 - smoothing on the gold
    token and spreads ``smoothing`` uniformly over the vocabulary. Padding is excluded by the
    sample weights (0 on padded positions); the default reduction averages over weighted tokens.
    """

    def __init__(self, label_smoothing: float = 0.0, name: str = "smoothed_crossentropy",
                 reduction: str = "mean_with_sample_weight", **kwargs):
        super().__init__(name=name, reduction=reduction, **kwargs)
        self.label_smoothing = label_smoothing

    def call(self, y_true, y_pred):
        log_probs = ops.log_softmax(y_pred, axis=-1)
        gold = ops.expand_dims(ops.cast(y_true, "int32"), -1)
        nll = -ops.squeeze(ops.take_along_axis(log_probs, gold, axis=-1), -1)
        if not self.label_smoothing:
            return nll
        uniform = -ops.mean(log_probs, axis=-1)
        return (1.0 - self.label_smoothing) * nll + self.label_smoothing * uniform

    def get_config(self):
        return {**super().get_config(), "label_smoothing": self.label_smoothing}


@keras.saving.register_keras_serializable(package="seqtasks")
class TokenCrossentropy(keras.losses.Loss):
    """``SparseCategoricalCrossentropy(from_logits=True)`` of targets [batch, time] against logits
    [batch, time, vocab], computed on the logits flattened to [batch * time, vocab].

    The same numbers; on the torch backend, Keras' version moves the class axis of a rank-3
    tensor to position 1 for PyTorch's ``cross_entropy``, which copies every window's logits
    before a strided softmax (the largest cost after the matrix products on the PTB shape).
    """

    def __init__(self, name: str = "token_crossentropy",
                 reduction: str = "mean_with_sample_weight", **kwargs):
        super().__init__(name=name, reduction=reduction, **kwargs)

    def call(self, y_true, y_pred):
        vocab = ops.shape(y_pred)[-1]
        losses = keras.losses.sparse_categorical_crossentropy(
            ops.reshape(y_true, [-1]), ops.reshape(y_pred, [-1, vocab]), from_logits=True)
        return ops.reshape(losses, ops.shape(y_true))
