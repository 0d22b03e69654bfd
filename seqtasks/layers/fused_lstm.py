"""An LSTM layer whose whole time loop is TensorFlow's fused ``BlockLSTM`` kernel.

``FusedLSTM`` is ``ProjectedLSTM`` (so ``keras.layers.LSTM``: same weights ``kernel``,
``recurrent_kernel``, ``bias`` in Keras' gate order i, f, c, o, same config, same results) with the
recurrence run by ``tf.raw_ops.BlockLSTM``: one C++ op does every step of the forward pass and
``BlockLSTMGrad`` every step of the backward pass, instead of a ``While`` loop of a dozen small ops
per step. BlockLSTM is a plain TensorFlow CPU op (not cuDNN), so exported SavedModels serve on any
CPU. We use V1, whose gradient TensorFlow registers for exactly its gate order; the weights are
re-ordered to it (i, c, f, o) inside the graph on each call, so checkpoints keep Keras' layout.

Masks: BlockLSTM knows one length for the whole batch. Keras' semantics for a masked step are
"state unchanged, output repeated (or zero)", i.e. the masked steps are skipped. So each row's
unmasked steps are moved to the front (a stable sort on the mask), the fused op runs up to the
longest row, and outputs and final states are gathered back to the positions Keras gives them.
That covers right padding, left padding and holes alike, and ``go_backwards`` (reverse first,
as Keras does).

Where the fused op can't reproduce the layer, ``inner_loop`` falls back to the projected Keras
loop: another backend than TensorFlow, activations other than tanh / sigmoid, input dropout
inside the cell or recurrent dropout while training (masks per step), dtypes BlockLSTM has no
kernel for, and inputs of one time step (step-by-step sampling and decoding). ``unroll`` has no
meaning for the fused op (its loop is in C++) and is ignored.
"""

from __future__ import annotations

import keras
# Imported when first used, as Keras does: the layer module loads under any backend.
from keras.src.utils.module_utils import tensorflow as tf

from seqtasks.layers.projected_rnn import ProjectedLSTM

FUSED_DTYPES = ("float16", "float32")


def _keras_to_block_gates(weights):
    """Keras' gate blocks [i, f, c, o] along the last axis -> BlockLSTM's [i, c, f, o]."""
    i, f, c, o = tf.split(weights, 4, axis=-1)
    return tf.concat([i, c, f, o], axis=-1)


def _take_steps(values, index):
    """``values`` [batch, time, units] at ``index`` [batch, k] -> [batch, k, units]."""
    return tf.gather(values, index, batch_dims=1)


def _block_lstm_with_hoisted_gradient(x, h0, c0, kernel, recurrent_kernel, bias, steps):
    """BlockLSTM forward, and a backward pass that keeps only the recurrence in its loop.

    Time-major ``x`` [time, batch, features]; weights in BlockLSTM's gate order; the first
    ``steps`` steps are computed, h and cs are zero after them. Returns ``(h, cs)`` [time, batch,
    units]. TensorFlow's own gradient (BlockLSTMGrad) accumulates the weight gradients step by
    step, a small matrix product per step; here the loop computes only the gate gradients
    (LSTMBlockCellGrad, one fused op) and ``dz @ recurrent_kernel^T``, and the input, kernel and
    bias gradients are three large products over all steps after it, as PyTorch and cuDNN do.
    """
    @tf.custom_gradient
    def run(x, h0, c0, kernel, recurrent_kernel, bias):
        units = tf.shape(h0)[-1]
        weights = tf.concat([kernel, recurrent_kernel], axis=0)
        no_peephole = tf.zeros([units], x.dtype)
        gates = dict(zip(("i", "cs", "f", "o", "ci", "co", "h"), tf.raw_ops.BlockLSTM(
            seq_len_max=tf.cast(steps, tf.int64), x=x, cs_prev=c0, h_prev=h0, w=weights,
            wci=no_peephole, wcf=no_peephole, wco=no_peephole, b=bias, forget_bias=0.0,
            cell_clip=-1.0, use_peephole=False)))

        def gradient(dh_seq, dcs_seq):
            n = steps
            h_prev = tf.concat([h0[None], gates["h"]], axis=0)[:n]
            cs_prev = tf.concat([c0[None], gates["cs"]], axis=0)[:n]
            per_step = {name: value[:n] for name, value in gates.items() if name != "h"}
            per_step.update(x=x[:n], h_prev=h_prev, cs_prev=cs_prev,
                            h_grad=(tf.zeros_like(gates["h"]) if dh_seq is None else dh_seq)[:n],
                            cs_grad=(tf.zeros_like(gates["cs"]) if dcs_seq is None
                                     else dcs_seq)[:n])
            arrays = {name: tf.TensorArray(x.dtype, size=n).unstack(value)
                      for name, value in per_step.items()}
            recurrent_t = tf.transpose(recurrent_kernel)

            def step(t, dh_next, dcs_next, dz):
                now = {name: array.read(t) for name, array in arrays.items()}
                dcs_prev, dicfo, _, _, _ = tf.raw_ops.LSTMBlockCellGrad(
                    x=now["x"], cs_prev=now["cs_prev"], h_prev=now["h_prev"], w=weights,
                    wci=no_peephole, wcf=no_peephole, wco=no_peephole, b=bias, i=now["i"],
                    cs=now["cs"], f=now["f"], o=now["o"], ci=now["ci"], co=now["co"],
                    cs_grad=now["cs_grad"] + dcs_next, h_grad=now["h_grad"] + dh_next,
                    use_peephole=False)
                return t - 1, tf.matmul(dicfo, recurrent_t), dcs_prev, dz.write(t, dicfo)

            _, dh0, dc0, dz = tf.while_loop(
                lambda t, *_: t >= 0, step,
                (n - 1, tf.zeros_like(h0), tf.zeros_like(c0), tf.TensorArray(x.dtype, size=n)))
            dz = dz.stack()  # [n, batch, 4 units]: the gate pre-activation gradients
            flat_dz = tf.reshape(dz, [-1, 4 * units])
            dx = tf.reshape(tf.matmul(flat_dz, kernel, transpose_b=True),
                            [n, tf.shape(x)[1], tf.shape(x)[2]])
            dx = tf.pad(dx, [[0, tf.shape(x)[0] - n], [0, 0], [0, 0]])
            dkernel = tf.matmul(tf.reshape(per_step["x"], [-1, tf.shape(x)[-1]]), flat_dz,
                                transpose_a=True)
            drecurrent = tf.matmul(tf.reshape(h_prev, [-1, units]), flat_dz, transpose_a=True)
            return dx, dh0, dc0, dkernel, drecurrent, tf.reduce_sum(flat_dz, axis=0)

        return (gates["h"], gates["cs"]), gradient

    return run(x, h0, c0, kernel, recurrent_kernel, bias)


def block_lstm(sequences, h0, c0, mask, kernel, recurrent_kernel, bias, go_backwards=False,
               zero_output_for_mask=False, return_sequences=True):
    """Keras' ``backend.rnn`` contract for an LSTM (tanh / sigmoid) on BlockLSTM.

    ``sequences`` [batch, time, features]; ``mask`` [batch, time] or None. Returns
    ``(last_output, outputs, [h, c])`` as ``keras.layers.RNN.inner_loop`` does: ``outputs``
    [batch, time, units] (time reversed with ``go_backwards``), or [batch, 1, units] without
    ``return_sequences``.
    """
    dtype = sequences.dtype
    if go_backwards:
        sequences = tf.reverse(sequences, axis=[1])
        mask = None if mask is None else tf.reverse(mask, axis=[1])
    time_steps = tf.shape(sequences)[1]
    if mask is not None:
        mask = tf.cast(mask, tf.bool)
        # Stable: the unmasked steps of each row keep their order, at the front.
        order = tf.argsort(tf.cast(tf.logical_not(mask), tf.int32), axis=1, stable=True)
        sequences = _take_steps(sequences, order)
        counts = tf.reduce_sum(tf.cast(mask, tf.int32), axis=1)
        steps_needed = tf.reduce_max(tf.concat([counts, [0]], axis=0))
    else:
        steps_needed = time_steps
    units = tf.shape(h0)[-1]
    bias = tf.zeros([4 * units], dtype) if bias is None \
        else _keras_to_block_gates(tf.cast(bias, dtype))
    h, cs = _block_lstm_with_hoisted_gradient(
        tf.transpose(sequences, [1, 0, 2]), h0, c0,
        _keras_to_block_gates(tf.cast(kernel, dtype)),
        _keras_to_block_gates(tf.cast(recurrent_kernel, dtype)), bias, steps_needed)
    h = tf.transpose(h, [1, 0, 2])  # [batch, time, units]; zeros after steps_needed
    cs = tf.transpose(cs, [1, 0, 2])
    if mask is None:
        outputs, states = h, [h[:, -1], cs[:, -1]]
    else:
        # Position t shows the state after the unmasked steps up to t: compacted step
        # (number of unmasked steps so far) - 1, or nothing yet (-1).
        done = tf.cumsum(tf.cast(mask, tf.int32), axis=1) - 1
        shown = tf.logical_and(mask, done >= 0) if zero_output_for_mask else done >= 0
        outputs = tf.where(shown[..., None], _take_steps(h, tf.maximum(done, 0)),
                           tf.zeros([], dtype))
        last = tf.maximum(counts - 1, 0)[:, None]
        any_step = (counts > 0)[:, None]
        states = [tf.where(any_step, _take_steps(h, last)[:, 0], h0),
                  tf.where(any_step, _take_steps(cs, last)[:, 0], c0)]
    last_output = outputs[:, -1]
    if not return_sequences:
        outputs = last_output[:, None]
    return last_output, outputs, states


@keras.saving.register_keras_serializable(package="seqtasks")
class FusedLSTM(ProjectedLSTM):
    """``keras.layers.LSTM`` on TensorFlow's fused BlockLSTM kernel (see the module doc)."""

    def __init__(self, units, **kwargs):
        super().__init__(units, **kwargs)
        # BlockLSTM has no XLA kernel: keeps model.compile(jit_compile="auto") off XLA.
        self.supports_jit = False

    def fused_applies(self, sequences, training) -> bool:
        cell = self.cell
        return (keras.backend.backend() == "tensorflow"
                and cell.activation is keras.activations.tanh
                and cell.recurrent_activation is keras.activations.sigmoid
                and not cell.dropout
                and not (training and cell.recurrent_dropout)
                and keras.backend.standardize_dtype(sequences.dtype) in FUSED_DTYPES
                # One step (sampling, step-by-step decoding) has no loop to fuse, and the
                # per-call weight re-layout would cost more than the step (4-5x measured).
                and sequences.shape[1] != 1)

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        if not self.fused_applies(sequences, training):
            return super().inner_loop(sequences, initial_state, mask, training=training)
        h0, c0 = initial_state
        cell = self.cell
        return block_lstm(sequences, h0, c0, mask, cell.kernel, cell.recurrent_kernel,
                          cell.bias if cell.use_bias else None, go_backwards=self.go_backwards,
                          zero_output_for_mask=self.zero_output_for_mask,
                          return_sequences=self.return_sequences)
