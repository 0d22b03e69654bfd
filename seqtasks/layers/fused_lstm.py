"""An LSTM layer with a hand-written backward pass: fused gate gradients, weight gradients hoisted.

``FusedLSTM`` is ``ProjectedLSTM`` (so ``keras.layers.LSTM``: same weights ``kernel``,
``recurrent_kernel``, ``bias`` in Keras' gate order i, f, c, o, same config, same results, same
outputs and gradients to 1e-5 in the tests) with its own gradient (``_lstm_with_fused_gradient``).
TensorFlow's differentiation of a ``While`` loop keeps a dozen small ops per step and accumulates
the weight gradients one small matrix product per step; here the backward loop is one fused
``LSTMBlockCellGrad`` op (every element-wise derivative of a step) and ``dz @ recurrent^T``, and
the weight and input gradients are four large products over all steps after it, as PyTorch and
cuDNN do. The forward pass is the projected loop (input product for all steps at once, then
``h @ recurrent_kernel`` and the gates per step), keeping what the backward pass needs. Every op
is a plain TensorFlow CPU op (no cuDNN), so exported SavedModels serve on any CPU.
(TensorFlow's fused forward kernel, ``BlockLSTM``, was measured and dropped: it multiplies
``[x, h]`` with Eigen every step and ran 1.7x slower than this loop on the char-LM shape.)

Masks: the loop runs one length for the whole batch. Keras' semantics for a masked step are
"state unchanged, output repeated (or zero)", i.e. the masked steps are skipped. So each row's
unmasked steps are moved to the front (a stable sort on the mask), the loop runs up to the
longest row, and outputs and final states are gathered back to the positions Keras gives them.
That covers right padding, left padding and holes alike, and ``go_backwards`` (reverse first,
as Keras does).

Where this can't reproduce the layer, ``inner_loop`` falls back to the projected Keras loop:
another backend than TensorFlow, activations other than tanh / sigmoid, input dropout inside
the cell or recurrent dropout while training (masks per step), dtypes ``LSTMBlockCellGrad`` has
no kernel for, and inputs of one time step (step-by-step sampling and decoding). ``unroll`` is
ignored (the loop's length is the batch's longest row).
"""

from __future__ import annotations

import keras
# Imported when first used, as Keras does: the layer module loads under any backend.
from keras.src.utils.module_utils import tensorflow as tf

from seqtasks.layers.projected_rnn import ProjectedLSTM

FUSED_DTYPES = ("float16", "float32")


def _regroup_gates(weights, order):
    """Keras' gate blocks [i, f, c, o] along the last axis -> the blocks named in ``order``."""
    blocks = dict(zip("ifco", tf.split(weights, 4, axis=-1)))
    return tf.concat([blocks[name] for name in order], axis=-1)


def _keras_gates(weights, order):
    """The inverse of ``_regroup_gates``: blocks in ``order`` -> Keras' [i, f, c, o]."""
    blocks = dict(zip(order, tf.split(weights, 4, axis=-1)))
    return tf.concat([blocks[name] for name in "ifco"], axis=-1)


def _take_steps(values, index):
    """``values`` [batch, time, units] at ``index`` [batch, k] -> [batch, k, units]."""
    return tf.gather(values, index, batch_dims=1)


def _lstm_forward(x, h0, c0, kernel, recurrent_kernel, bias, steps, keep_gates):
    """The forward loop over time-major ``x`` [time, batch, features], Keras-layout weights.

    ``x @ kernel + bias`` for all steps at once, then a loop that does only
    ``h @ recurrent_kernel`` and the gates (regrouped to i, f, o, c so one sigmoid and one tanh
    cover them). The first ``steps`` steps are computed; h and cs are zero after them. Returns
    ``(h, cs)`` [time, batch, units], and with ``keep_gates`` the sigmoid gates [time, batch,
    3 units] (i, f, o) and candidates [time, batch, units] the backward pass needs.
    """
    time, batch, features = tf.shape(x)[0], tf.shape(x)[1], tf.shape(x)[2]
    units = tf.shape(h0)[-1]
    recurrent = _regroup_gates(recurrent_kernel, "ifoc")
    projected = tf.matmul(tf.reshape(x, [-1, features]), _regroup_gates(kernel, "ifoc"))
    projected = tf.reshape(projected + _regroup_gates(bias, "ifoc"), [time, batch, -1])

    # The loop indexes its input (a slice per step): TensorArray.unstack would copy every step
    # into a list first, which cost a fifth of the training time (TF profiler).
    def step(t, h, c, *kept):
        z = projected[t] + tf.matmul(h, recurrent)
        sigmoid = tf.sigmoid(z[:, :3 * units])
        candidate = tf.tanh(z[:, 3 * units:])
        i, f, o = tf.split(sigmoid, 3, axis=-1)
        c = f * c + i * candidate
        h = o * tf.tanh(c)
        values = (h, c, sigmoid, candidate) if keep_gates else (h, c)
        return (t + 1, h, c) + tuple(array.write(t, value) for array, value in zip(kept, values))

    width = h0.shape[-1]
    widths = [width, width] + ([None if width is None else 3 * width, width] if keep_gates else [])
    # Unwritten steps (after ``steps``) stack as zeros.
    kept = tuple(tf.TensorArray(x.dtype, size=time, element_shape=[None, w]) for w in widths)
    _, _, _, *kept = tf.while_loop(lambda t, *_: t < steps, step, (0, h0, c0) + kept)
    return tuple(array.stack() for array in kept)


def _lstm_with_fused_gradient(x, h0, c0, kernel, recurrent_kernel, bias, steps):
    """``_lstm_forward`` with a backward pass of fused gate gradients and hoisted products.

    Returns ``(h, cs)`` [time, batch, units]. The backward loop computes only the gate
    gradients (``LSTMBlockCellGrad``, one fused op for every element-wise derivative of a step)
    and ``dz @ recurrent_kernel^T``; the input, kernel, recurrent-kernel and bias gradients are
    large products over all steps after it, as PyTorch and cuDNN do, instead of TensorFlow's
    differentiated While loop, which accumulates them one small product per step.
    """
    @tf.custom_gradient
    def run(x, h0, c0, kernel, recurrent_kernel, bias):
        batch, features = tf.shape(x)[1], tf.shape(x)[2]
        time, units = tf.shape(x)[0], tf.shape(h0)[-1]
        outputs, cells, sigmoids, candidates = _lstm_forward(
            x, h0, c0, kernel, recurrent_kernel, bias, steps, keep_gates=True)

        def gradient(dh_seq, dcs_seq):
            n = steps
            i, f, o = tf.split(sigmoids[:n], 3, axis=-1)
            per_step = dict(i=i, f=f, o=o, ci=candidates[:n], cs=cells[:n],
                            co=tf.tanh(cells[:n]),
                            cs_prev=tf.concat([c0[None], cells], axis=0)[:n],
                            h_grad=(tf.zeros_like(outputs) if dh_seq is None else dh_seq)[:n],
                            cs_grad=(tf.zeros_like(cells) if dcs_seq is None else dcs_seq)[:n])
            # LSTMBlockCellGrad's gate order is i, c, f, o; it reads x, h_prev, w and b for
            # their shapes only (the products with the weights are ours, below).
            recurrent_block = _regroup_gates(recurrent_kernel, "icfo")
            recurrent_block_t = tf.transpose(recurrent_block)
            no_input = tf.zeros([batch, 0], x.dtype)
            no_peephole = tf.zeros([units], x.dtype)
            no_bias = tf.zeros([4 * units], x.dtype)

            def step(t, dh_next, dcs_next, dz):
                now = {name: value[t] for name, value in per_step.items()}
                dcs_prev, dicfo, _, _, _ = tf.raw_ops.LSTMBlockCellGrad(
                    x=no_input, cs_prev=now["cs_prev"], h_prev=dh_next, w=recurrent_block,
                    wci=no_peephole, wcf=no_peephole, wco=no_peephole, b=no_bias, i=now["i"],
                    cs=now["cs"], f=now["f"], o=now["o"], ci=now["ci"], co=now["co"],
                    cs_grad=now["cs_grad"] + dcs_next, h_grad=now["h_grad"] + dh_next,
                    use_peephole=False)
                return t - 1, tf.matmul(dicfo, recurrent_block_t), dcs_prev, dz.write(t, dicfo)

            _, dh0, dc0, dz = tf.while_loop(
                lambda t, *_: t >= 0, step,
                (n - 1, tf.zeros_like(h0), tf.zeros_like(c0), tf.TensorArray(x.dtype, size=n)))
            # [n * batch, 4 units]: the gate pre-activation gradients, in Keras' layout
            dz = tf.reshape(_keras_gates(dz.stack(), "icfo"), [-1, 4 * units])
            # Transposed operands are given transposed, and the bias gradient is a product:
            # oneDNN ran ``transpose_b=True`` 1.3x and ``reduce_sum`` 7x slower (measured).
            dx = tf.reshape(tf.matmul(dz, tf.transpose(kernel)), [n, batch, features])
            dx = tf.pad(dx, [[0, time - n], [0, 0], [0, 0]])
            dkernel = tf.matmul(tf.reshape(x[:n], [-1, features]), dz, transpose_a=True)
            h_prev = tf.concat([h0[None], outputs], axis=0)[:n]
            drecurrent = tf.matmul(tf.reshape(h_prev, [-1, units]), dz, transpose_a=True)
            dbias = tf.matmul(tf.ones([1, tf.shape(dz)[0]], dz.dtype), dz)[0]
            return dx, dh0, dc0, dkernel, drecurrent, dbias

        return (outputs, cells), gradient

    return run(x, h0, c0, kernel, recurrent_kernel, bias)


def fused_lstm(sequences, h0, c0, mask, kernel, recurrent_kernel, bias, go_backwards=False,
               zero_output_for_mask=False, return_sequences=True, training=True):
    """Keras' ``backend.rnn`` contract for an LSTM (tanh / sigmoid) with the fused gradient.

    ``sequences`` [batch, time, features]; ``mask`` [batch, time] or None. Returns
    ``(last_output, outputs, [h, c])`` as ``keras.layers.RNN.inner_loop`` does: ``outputs``
    [batch, time, units] (time reversed with ``go_backwards``), or [batch, 1, units] without
    ``return_sequences``. ``training`` picks the loop that keeps the gates for the fused
    backward pass; inference runs the same loop without keeping them.
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
        # At least one step: a loop that writes nothing can't stack its unknown-batch arrays.
        # Positions past a row's own steps are never read, so the extra step changes nothing.
        steps_needed = tf.minimum(tf.reduce_max(tf.concat([counts, [1]], axis=0)), time_steps)
    else:
        steps_needed = time_steps
    units = tf.shape(h0)[-1]
    bias = tf.zeros([4 * units], dtype) if bias is None else tf.cast(bias, dtype)
    weights = (tf.cast(kernel, dtype), tf.cast(recurrent_kernel, dtype), bias)
    x = tf.transpose(sequences, [1, 0, 2])
    if training:
        h, cs = _lstm_with_fused_gradient(x, h0, c0, *weights, steps_needed)
    else:  # inference keeps no gates (TensorFlow can still differentiate this loop)
        h, cs = _lstm_forward(x, h0, c0, *weights, steps_needed, keep_gates=False)
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
    """``keras.layers.LSTM`` with a fused, hoisted backward pass (see the module doc)."""

    def __init__(self, units, **kwargs):
        super().__init__(units, **kwargs)
        # LSTMBlockCellGrad has no XLA kernel: keeps model.compile(jit_compile="auto") off XLA.
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
        return fused_lstm(sequences, h0, c0, mask, cell.kernel, cell.recurrent_kernel,
                          cell.bias if cell.use_bias else None, go_backwards=self.go_backwards,
                          zero_output_for_mask=self.zero_output_for_mask,
                          return_sequences=self.return_sequences, training=bool(training))
