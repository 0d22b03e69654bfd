"""Recurrent layers that project the inputs of all time steps before the loop.

Keras' recurrent layers (without cuDNN) compute ``x_t @ kernel`` inside the loop, one small
matrix product per step. That product does not depend on the recurrent state, so these layers do
it for the whole sequence at once — one large, efficient product — and the loop only does
``h_{t-1} @ recurrent_kernel`` and the gates. Same weights, same names, same results as the Keras
layers (tests compare them); PyTorch's CPU ``nn.LSTM`` does the same (``bench/lm_throughput.py``
compares the two).

Input dropout inside the cell (``dropout=``) and recurrent dropout while training need masks per
step, so those calls fall back to the Keras loop.
"""

from __future__ import annotations

import keras
from keras import ops
from keras.src.backend import rnn as backend_rnn  # the loop RNN.inner_loop runs; no public alias

from seqtasks.layers.peephole import PeepholeLSTMCell


def _lstm_step(cell, projected, states):
    h, c = states
    z = projected + ops.matmul(h, cell.recurrent_kernel)
    z_i, z_f, z_c, z_o = ops.split(z, 4, axis=-1)
    gate = cell.recurrent_activation
    c = gate(z_f) * c + gate(z_i) * cell.activation(z_c)
    h = gate(z_o) * cell.activation(c)
    return h, [h, c]


def _gru_step(cell, projected, states):
    h = states[0]
    inner = ops.matmul(h, cell.recurrent_kernel)
    if cell.use_bias:
        inner = inner + cell.bias[1]  # reset_after: the recurrent bias stays inside the loop
    x_z, x_r, x_h = ops.split(projected, 3, axis=-1)
    h_z, h_r, h_h = ops.split(inner, 3, axis=-1)
    z = cell.recurrent_activation(x_z + h_z)
    r = cell.recurrent_activation(x_r + h_r)
    candidate = cell.activation(x_h + r * h_h)
    h = z * h + (1.0 - z) * candidate
    return h, [h]


def _simple_rnn_step(cell, projected, states):
    h = cell.activation(projected + ops.matmul(states[0], cell.recurrent_kernel))
    return h, [h]


def _input_projection(cell, sequences):
    projected = ops.matmul(sequences, cell.kernel)
    if isinstance(cell, keras.layers.GRUCell):
        return projected + cell.bias[0] if cell.use_bias else projected
    return projected + cell.bias if getattr(cell, "use_bias", True) else projected


class _ProjectedInputs:
    """Mixin for a ``keras.layers.RNN`` subclass: ``step(cell, projected_t, states)`` is the
    cell's step given ``x_t @ kernel + input bias``."""

    step = None

    def inner_loop(self, sequences, initial_state, mask, training=False):
        cell = self.cell
        if getattr(cell, "dropout", 0) or (training and getattr(cell, "recurrent_dropout", 0)):
            return super().inner_loop(sequences, initial_state, mask, training=training)
        step = type(self).step
        return backend_rnn(
            lambda projected, states: step(cell, projected, states),
            _input_projection(cell, sequences),
            list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state],
            go_backwards=self.go_backwards, mask=mask, unroll=self.unroll,
            input_length=sequences.shape[1], zero_output_for_mask=self.zero_output_for_mask,
            return_all_outputs=self.return_sequences)


@keras.saving.register_keras_serializable(package="seqtasks")
class ProjectedLSTM(_ProjectedInputs, keras.layers.LSTM):
    step = staticmethod(_lstm_step)

    def __init__(self, units, **kwargs):
        kwargs["use_cudnn"] = False  # a plain While loop that serves on any CPU
        super().__init__(units, **kwargs)


@keras.saving.register_keras_serializable(package="seqtasks")
class ProjectedGRU(_ProjectedInputs, keras.layers.GRU):
    step = staticmethod(_gru_step)

    def __init__(self, units, **kwargs):
        kwargs["use_cudnn"] = False
        if not kwargs.get("reset_after", True):
            raise ValueError("ProjectedGRU implements reset_after=True (the Keras default)")
        super().__init__(units, **kwargs)


@keras.saving.register_keras_serializable(package="seqtasks")
class ProjectedSimpleRNN(_ProjectedInputs, keras.layers.SimpleRNN):
    step = staticmethod(_simple_rnn_step)


@keras.saving.register_keras_serializable(package="seqtasks")
class ProjectedPeepholeLSTM(_ProjectedInputs, keras.layers.RNN):
    """``keras.layers.RNN(PeepholeLSTMCell(units))`` with the input projection hoisted."""

    step = staticmethod(PeepholeLSTMCell.step_from_projection)

    def __init__(self, units_or_cell, **kwargs):  # a cell when Keras rebuilds it from config
        cell = units_or_cell if isinstance(units_or_cell, PeepholeLSTMCell) \
            else PeepholeLSTMCell(units_or_cell)
        super().__init__(cell, **kwargs)
