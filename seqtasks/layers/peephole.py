"""Peephole LSTM cell (Gers & Schmidhuber, 2000): gates also look at the cell state.

Keras 3 has no peephole cell. Input and forget gates see c_{t-1}; the output gate sees c_t:

    i = sigmoid(W_i x + U_i h + p_i * c_prev + b_i)
    f = sigmoid(W_f x + U_f h + p_f * c_prev + b_f)
    c = f * c_prev + i * tanh(W_c x + U_c h + b_c)
    o = sigmoid(W_o x + U_o h + p_o * c + b_o)
    h = o * tanh(c)
"""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="seqtasks")
class PeepholeLSTMCell(keras.layers.Layer):
    """Use inside ``keras.layers.RNN``; state is ``[h, c]`` like ``keras.layers.LSTMCell``."""

    def __init__(self, units: int, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = [units, units]
        self.output_size = units

    def build(self, input_shape):
        input_dim = input_shape[-1]
        self.kernel = self.add_weight(
            shape=(input_dim, 4 * self.units), initializer="glorot_uniform", name="kernel")
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, 4 * self.units), initializer="orthogonal", name="recurrent_kernel")
        self.peephole = self.add_weight(
            shape=(3, self.units), initializer="glorot_uniform", name="peephole")

        def bias_initializer(shape, dtype=None):
            # Forget-gate bias 1 (Jozefowicz et al., 2015), as keras.layers.LSTM does.
            zeros = ops.zeros((self.units,), dtype=dtype)
            return ops.concatenate([zeros, ops.ones((self.units,), dtype=dtype), zeros, zeros])

        self.bias = self.add_weight(shape=(4 * self.units,), initializer=bias_initializer,
                                    name="bias")

    def call(self, inputs, states, training=False):
        return self.step_from_projection(ops.matmul(inputs, self.kernel) + self.bias, states)

    def step_from_projection(self, projected, states):
        """One step given ``inputs @ kernel + bias`` (a layer may compute it for all steps)."""
        h_prev, c_prev = states
        z = projected + ops.matmul(h_prev, self.recurrent_kernel)
        z_i, z_f, z_c, z_o = ops.split(z, 4, axis=-1)
        p_i, p_f, p_o = self.peephole[0], self.peephole[1], self.peephole[2]
        i = ops.sigmoid(z_i + p_i * c_prev)
        f = ops.sigmoid(z_f + p_f * c_prev)
        c = f * c_prev + i * ops.tanh(z_c)
        o = ops.sigmoid(z_o + p_o * c)
        h = o * ops.tanh(c)
        return h, [h, c]

    def get_config(self):
        return {**super().get_config(), "units": self.units}
