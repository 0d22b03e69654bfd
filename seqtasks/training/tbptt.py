"""Truncated backpropagation through time: a trainable wrapper that carries recurrent state from
one window to the next, and the callback that resets it when the streams restart.

Pair with ``seqtasks.data.corpus.StreamLayout``: row ``b`` of every batch continues stream ``b``,
so the state a row ends one window with is where the same row's next window begins.
"""

from __future__ import annotations

import contextlib

import keras
from keras import ops


@contextlib.contextmanager
def unrolled(model: keras.Model):
    """Trace ``model``'s recurrent layers with their loops unrolled, then restore them.

    A window has a fixed length, so its loop can be a straight line of steps: no While loop,
    and the backward pass reads each step's activations directly instead of from the per-step
    stacks a While loop's gradient keeps. The exported step model keeps its loops (any length).
    """
    layers = [layer for layer in model.layers if isinstance(layer, keras.layers.RNN)]
    saved = [layer.unroll for layer in layers]
    for layer in layers:
        layer.unroll = True
    try:
        yield
    finally:
        for layer, unroll in zip(layers, saved):
            layer.unroll = unroll


@keras.saving.register_keras_serializable(package="seqtasks")
class TruncatedBPTT(keras.Model):
    """Trains ``step_model`` ([ids [batch, time], *states] -> [logits, *final states], any batch
    size) on fixed-size windows of ``steps`` (k2) positions that advance by ``stride`` (k1).

    The carried states are non-trainable variables of ``batch_size`` rows. Each call runs the
    window's first ``stride`` positions from them, keeps the state reached there for the next
    window, and runs the remaining ``steps - stride`` positions on from it, so gradients flow
    back over all ``steps`` positions while every position is read once per stream. Only
    ``step_model`` is exported; this wrapper exists for ``fit``.

    Several workers (``seqtasks.training.distributed``) split the rows of every batch, not the
    batches (``splits_rows``): each replica carries the state of its own streams.
    """

    splits_rows = True

    def __init__(self, step_model: keras.Model, batch_size: int, steps: int, stride: int,
                 **kwargs):
        super().__init__(**kwargs)
        self.step_model = step_model
        self.steps, self.stride = steps, stride
        self.carried = [
            self.add_weight(shape=(batch_size, int(state.shape[-1])), initializer="zeros",
                            trainable=False, name=f"carried_state_{i}")
            for i, state in enumerate(step_model.inputs[1:])]
        self.built = True  # every weight exists: the step model's and the carried state

    def get_config(self):
        return {"step_model": keras.saving.serialize_keras_object(self.step_model),
                "batch_size": int(self.carried[0].shape[0]) if self.carried else 0,
                "steps": self.steps, "stride": self.stride, "name": self.name}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        step_model = keras.saving.deserialize_keras_object(config.pop("step_model"))
        return cls(step_model, **config)

    def call(self, ids, training=False):
        with unrolled(self.step_model):
            return self._windows(ids, training)

    def _windows(self, ids, training):
        # A copy: on the torch backend the variable's tensor would be the one assigned below,
        # in place, while the backward pass still needs it.
        states = [ops.copy(variable) for variable in self.carried]
        logits, *states = self.step_model([ids[:, : self.stride], *states], training=training)
        for variable, state in zip(self.carried, states):
            variable.assign(ops.stop_gradient(state))
        if self.stride == self.steps:
            return logits
        rest, *_ = self.step_model([ids[:, self.stride :], *states], training=training)
        return ops.concatenate([logits, rest], axis=1)

    def reset_carried_state(self) -> None:
        for variable in self.carried:
            variable.assign(ops.zeros(variable.shape, variable.dtype))


class ResetCarriedState(keras.callbacks.Callback):
    """Zero the carried state when an epoch starts and when an evaluation starts: both read
    their streams from the beginning."""

    def on_epoch_begin(self, epoch, logs=None):
        self.model.reset_carried_state()

    def on_test_begin(self, logs=None):
        self.model.reset_carried_state()
