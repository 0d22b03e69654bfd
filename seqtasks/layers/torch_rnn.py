"""The time loop of ``FusedLSTM`` / ``FusedGRU`` on Keras' torch backend: PyTorch's own RNN kernels.

On the CPU, PyTorch runs an LSTM as oneDNN's fused RNN primitive, forward and backward
(``aten::mkldnn_rnn_layer``; TensorFlow has no op for it, which is most of the gap between the
TensorFlow loops and PyTorch in ``bench/lm_throughput.py``); on a GPU, as cuDNN. Training with
``train_backend=torch`` (``seqtasks.training.backends``) therefore runs these layers on that
kernel, and the export, built by TensorFlow from the trained weights, is the plain While loop.

The weights stay in Keras' layout; each call hands PyTorch transposed copies in its gate order
(LSTM: i, f, g, o is Keras' i, f, c, o; GRU: r, z, n from Keras' z, r, h, whose ``reset_after``
form is PyTorch's GRU). Gradients flow back to the Keras variables through those copies.
"""

from __future__ import annotations

import keras
from keras import ops

TORCH_DTYPES = ("float32",)


def _gru_order(weights):
    """Keras' GRU gate blocks [z, r, h] along the last axis -> PyTorch's [r, z, n]."""
    z, r, h = ops.split(weights, 3, axis=-1)
    return ops.concatenate([r, z, h], axis=-1)


def _parameters(cell):
    """PyTorch's flat weights of one layer: w_ih [gates, in], w_hh [gates, units], b_ih, b_hh."""
    kernel = ops.convert_to_tensor(cell.kernel)
    recurrent_kernel = ops.convert_to_tensor(cell.recurrent_kernel)
    bias = ops.convert_to_tensor(cell.bias) if cell.use_bias else None
    if isinstance(cell, keras.layers.GRUCell):
        kernel, recurrent_kernel = _gru_order(kernel), _gru_order(recurrent_kernel)
        biases = [] if bias is None else [_gru_order(bias[0]), _gru_order(bias[1])]
    else:  # one bias in Keras; PyTorch adds two
        biases = [] if bias is None else [bias, ops.zeros_like(bias)]
    weights = [ops.transpose(kernel), ops.transpose(recurrent_kernel), *biases]
    return [w.contiguous() for w in weights]


def applies(sequences, mask) -> bool:
    """Whether ``torch_rnn`` runs this call: float32 steps on a real device, no padding.

    Keras infers shapes by calling layers on ``meta`` tensors, where nothing can be read; a
    mask with padded steps would need the steps compacted first (the TensorFlow loop does), so
    those calls take the Keras loop. Language-model windows and unpadded batches have none.
    """
    if sequences.device.type == "meta" or sequences.shape[1] == 0:
        return False
    if keras.backend.standardize_dtype(sequences.dtype) not in TORCH_DTYPES:
        return False
    return mask is None or bool(ops.all(mask))


def torch_rnn(cell, sequences, initial_state, go_backwards=False, return_sequences=True):
    """Keras' ``backend.rnn`` contract for ``cell`` (an ``LSTMCell`` or a ``reset_after``
    ``GRUCell``, tanh / sigmoid, no dropout) on ``torch._VF.lstm`` / ``gru``.

    ``sequences`` [batch, time, features]; ``initial_state`` [h, c] or [h]. Returns
    ``(last_output, outputs, states)`` with ``outputs`` [batch, time, units] (time reversed
    with ``go_backwards``, as Keras gives them) or [batch, 1, units].
    """
    import torch

    if go_backwards:
        sequences = torch.flip(sequences, dims=[1])
    weights = _parameters(cell)
    has_biases = len(weights) == 4
    training = torch.is_grad_enabled()  # keeps the workspace the backward pass reads
    # batch_first, one layer, no dropout, one direction (Bidirectional wraps two layers).
    if isinstance(cell, keras.layers.GRUCell):
        outputs, h = torch._VF.gru(sequences, initial_state[0][None], weights, has_biases, 1,
                                   0.0, training, False, True)
        states = [h[0]]
    else:
        h, c = initial_state
        outputs, h, c = torch._VF.lstm(sequences, (h[None], c[None]), weights, has_biases, 1,
                                       0.0, training, False, True)
        states = [h[0], c[0]]
    last_output = outputs[:, -1]
    return last_output, outputs if return_sequences else last_output[:, None], states
