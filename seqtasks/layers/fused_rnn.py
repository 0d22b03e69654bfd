"""LSTM and GRU layers with hand-written backward passes: weight gradients hoisted out of the loop.

``FusedLSTM`` / ``FusedGRU`` are ``ProjectedLSTM`` / ``ProjectedGRU`` (so ``keras.layers.LSTM`` /
``GRU``: same weights in Keras' layout and gate order, same config, same outputs and gradients to
1e-5 in the tests) with their own gradient. TensorFlow's differentiation of a ``While`` loop keeps
every intermediate of every step in accumulator lists and adds each step's weight gradient into
the total, one small matrix product (inner dimension: the batch) and one weight-sized addition
per step. Here the backward loop computes only what depends on the step before it — the gate
gradients and ``dz @ recurrent^T`` — and the input, kernel, recurrent-kernel and bias gradients
are four large products over all steps after it, as PyTorch and cuDNN do. For the LSTM, every
element-wise derivative of a step is one fused TensorFlow op (``LSTMBlockCellGrad``); the GRU
(Keras' ``reset_after`` form, which TensorFlow's ``GRUBlockCell`` does not implement) spells its
derivatives out. The forward pass is the projected loop (input product for all steps at once,
then ``h @ recurrent_kernel`` and the gates per step), keeping what the backward pass needs.
Every op is a plain TensorFlow CPU op (no cuDNN), so exported SavedModels serve on any CPU.
(TensorFlow's fused LSTM forward kernel, ``BlockLSTM``, was measured and dropped for training: it
multiplies ``[x, h]`` with Eigen every step and ran 1.7x slower than this loop on the char-LM
shape. The LSTM's inference on a small right-padded batch, what an export serves, does run it:
``seqtasks.layers.right_padded_lstm``, measured in bench/results/serving-graph-levers.json.)

Masks: the loop runs one length for the whole batch. Keras' semantics for a masked step are
"state unchanged, output repeated (or zero)", i.e. the masked steps are skipped. So each row's
unmasked steps are moved to the front (a stable sort on the mask), the loop runs up to the
longest row, and outputs and final states are gathered back to the positions Keras gives them.
That covers right padding, left padding and holes alike, and ``go_backwards`` (reverse first,
as Keras does).

On Keras' torch backend the same layers run PyTorch's fused kernels instead
(``seqtasks.layers.torch_rnn``: oneDNN on the CPU, cuDNN on a GPU), for batches without padding.

Where neither can reproduce the layer, ``inner_loop`` falls back to the projected Keras loop:
a backend other than TensorFlow and torch, activations other than tanh / sigmoid, input dropout
inside the cell or recurrent dropout while training (masks per step), dtypes other than
float16 / float32, and inputs of one time step (step-by-step sampling and decoding).
``unroll`` is ignored (the loop's length is the batch's longest row).
"""

from __future__ import annotations

import keras
# Imported when first used, as Keras does: the layer module loads under any backend.
from keras.src.utils.module_utils import tensorflow as tf

from seqtasks.layers import torch_rnn
from seqtasks.layers.projected_rnn import ProjectedGRU, ProjectedLSTM
from seqtasks.layers.right_padded_lstm import (BLOCK_LSTM_MAX_BATCH, is_right_padded,
                                               right_padded_lstm)

FUSED_DTYPES = ("float16", "float32")
# TensorFlow runs the loops below; torch runs PyTorch's kernels (seqtasks.layers.torch_rnn).
FUSED_BACKENDS = ("tensorflow", "torch")


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
    ``h @ recurrent_kernel`` and the gates (regrouped to i, f, o, c: training runs one sigmoid
    over i, f, o). The first ``steps`` steps are computed; h and cs are zero after them. Returns
    ``(h, cs)`` [time, batch, units], and with ``keep_gates`` the sigmoid gates [time, batch,
    3 units] (i, f, o) and candidates [time, batch, units] the backward pass needs.

    ``kernel`` and ``bias`` None: ``x`` [time, batch, 4 units] already is ``x @ kernel + bias``
    in the loop's gate order (i, f, o, c), as an input table gives it (``_masked_loop``).
    """
    time, batch, features = tf.shape(x)[0], tf.shape(x)[1], tf.shape(x)[2]
    units = tf.shape(h0)[-1]
    recurrent = _regroup_gates(recurrent_kernel, "ifoc")
    if kernel is None:
        projected = x
    else:
        projected = tf.matmul(tf.reshape(x, [-1, features]), _regroup_gates(kernel, "ifoc"))
        projected = tf.reshape(projected + _regroup_gates(bias, "ifoc"), [time, batch, -1])

    # The loop indexes its input (a slice per step): TensorArray.unstack would copy every step
    # into a list first, which cost a fifth of the training time (TF profiler).
    def step(t, h, c, *kept):
        z = projected[t] + tf.matmul(h, recurrent)
        if keep_gates:  # one sigmoid over i, f, o: kept as one array, as the backward reads it
            sigmoid = tf.sigmoid(z[:, :3 * units])
            i, f, o = tf.split(sigmoid, 3, axis=-1)
            candidate = tf.tanh(z[:, 3 * units:])
        else:  # one split, an activation per gate: 6-8 % faster (column slices are copies)
            z_i, z_f, z_o, z_c = tf.split(z, 4, axis=-1)
            i, f, o, candidate = tf.sigmoid(z_i), tf.sigmoid(z_f), tf.sigmoid(z_o), tf.tanh(z_c)
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


def _gru_forward(x, h0, kernel, recurrent_kernel, bias, steps, keep_gates):
    """Keras' GRU (``reset_after``) over time-major ``x``; ``bias`` [2, 3 units] (input,
    recurrent). Returns ``(h,)`` [time, batch, units], and with ``keep_gates`` also the update
    and reset gates [time, batch, 2 units], the candidates and the recurrent candidate parts
    ``h @ recurrent_kernel[:, 2u:] + bias`` [time, batch, units] the backward pass needs."""
    time, batch, features = tf.shape(x)[0], tf.shape(x)[1], tf.shape(x)[2]
    units = tf.shape(h0)[-1]
    projected = tf.matmul(tf.reshape(x, [-1, features]), kernel) + bias[0]
    projected = tf.reshape(projected, [time, batch, -1])

    def step(t, h, *kept):
        inputs = projected[t]
        inner = tf.matmul(h, recurrent_kernel) + bias[1]
        gates = tf.sigmoid(inputs[:, :2 * units] + inner[:, :2 * units])  # z, r
        update, reset = tf.split(gates, 2, axis=-1)
        recurrent_part = inner[:, 2 * units:]
        candidate = tf.tanh(inputs[:, 2 * units:] + reset * recurrent_part)
        h = candidate + update * (h - candidate)  # z * h + (1 - z) * candidate
        values = (h, gates, candidate, recurrent_part) if keep_gates else (h,)
        return (t + 1, h) + tuple(array.write(t, value) for array, value in zip(kept, values))

    width = h0.shape[-1]
    widths = [width] + ([None if width is None else 2 * width, width, width] if keep_gates
                        else [])
    kept = tuple(tf.TensorArray(x.dtype, size=time, element_shape=[None, w]) for w in widths)
    _, _, *kept = tf.while_loop(lambda t, *_: t < steps, step, (0, h0) + kept)
    return tuple(array.stack() for array in kept)


def _gru_with_fused_gradient(x, h0, kernel, recurrent_kernel, bias, steps):
    """``_gru_forward`` with a backward pass whose loop keeps only the recurrence."""
    @tf.custom_gradient
    def run(x, h0, kernel, recurrent_kernel, bias):
        time, batch, features = tf.shape(x)[0], tf.shape(x)[1], tf.shape(x)[2]
        units = tf.shape(h0)[-1]
        outputs, gates, candidates, recurrent_parts = _gru_forward(
            x, h0, kernel, recurrent_kernel, bias, steps, keep_gates=True)

        def gradient(dh_seq):
            n = steps
            h_prev = tf.concat([h0[None], outputs], axis=0)[:n]
            h_grad = (tf.zeros_like(outputs) if dh_seq is None else dh_seq)[:n]
            recurrent_t = tf.transpose(recurrent_kernel)

            def step(t, dh_next, d_inner_steps, d_candidate_steps):
                dh = h_grad[t] + dh_next
                update, reset = tf.split(gates[t], 2, axis=-1)
                candidate, recurrent_part = candidates[t], recurrent_parts[t]
                keep = 1.0 - update
                d_update = dh * (h_prev[t] - candidate) * update * keep
                d_candidate = dh * keep * (1.0 - candidate * candidate)  # before the tanh
                d_reset = d_candidate * recurrent_part * reset * (1.0 - reset)
                d_inner = tf.concat([d_update, d_reset, d_candidate * reset], axis=-1)
                return (t - 1, dh * update + tf.matmul(d_inner, recurrent_t),
                        d_inner_steps.write(t, d_inner), d_candidate_steps.write(t, d_candidate))

            _, dh0, d_inner, d_candidate = tf.while_loop(
                lambda t, *_: t >= 0, step,
                (n - 1, tf.zeros_like(h0), tf.TensorArray(x.dtype, size=n),
                 tf.TensorArray(x.dtype, size=n)))
            d_inner = tf.reshape(d_inner.stack(), [-1, 3 * units])  # d(h @ U + recurrent bias)
            d_projected = tf.concat([d_inner[:, :2 * units],
                                     tf.reshape(d_candidate.stack(), [-1, units])], axis=-1)
            # As for the LSTM: operands pre-transposed, bias gradients as products.
            dx = tf.reshape(tf.matmul(d_projected, tf.transpose(kernel)), [n, batch, features])
            dx = tf.pad(dx, [[0, time - n], [0, 0], [0, 0]])
            dkernel = tf.matmul(tf.reshape(x[:n], [-1, features]), d_projected, transpose_a=True)
            drecurrent = tf.matmul(tf.reshape(h_prev, [-1, units]), d_inner, transpose_a=True)
            ones = tf.ones([1, tf.shape(d_inner)[0]], x.dtype)
            dbias = tf.concat([tf.matmul(ones, d_projected), tf.matmul(ones, d_inner)], axis=0)
            return dx, dh0, dkernel, drecurrent, dbias

        return outputs, gradient

    return (run(x, h0, kernel, recurrent_kernel, bias),)


def fused_rnn(cell, sequences, initial_state, mask, go_backwards=False,
              zero_output_for_mask=False, return_sequences=True, training=True):
    """Keras' ``backend.rnn`` contract for ``cell`` on the loops above (``_masked_loop``).

    The LSTM's inference on a small right-padded batch (what an export serves) runs TensorFlow's
    fused ``BlockLSTM`` op instead (``seqtasks.layers.right_padded_lstm``: the same outputs to
    float rounding); larger batches and any other mask run the loop.
    """
    if training or not isinstance(cell, keras.layers.LSTMCell):
        return _masked_loop(cell, sequences, initial_state, mask, go_backwards,
                            zero_output_for_mask, return_sequences, training)
    steps_given, static_steps = tf.shape(sequences)[1], sequences.shape[1]
    batch = tf.shape(sequences)[0]
    dtype = sequences.dtype
    if mask is None:
        lengths, right_padded = tf.fill([batch], steps_given), None
    else:
        mask = tf.cast(mask, tf.bool)
        lengths = tf.reduce_sum(tf.cast(mask, tf.int32), axis=1)
        right_padded = is_right_padded(mask, lengths)

    def block_op():
        # One step of zeros for a batch of no steps (masked: the states stay the initial ones).
        padded = tf.pad(sequences, [[0, 0], [0, tf.maximum(1 - steps_given, 0)], [0, 0]])
        outputs, states = right_padded_lstm(cell, padded, lengths, initial_state, go_backwards,
                                            zero_output_for_mask)
        last_output = tf.where(steps_given > 0, outputs[:, -1], tf.zeros([], dtype))
        return (last_output, outputs[:, :steps_given], *states)

    def loop():  # larger batches, and any other mask (left padding, holes)
        last_output, outputs, states = _masked_loop(
            cell, sequences, initial_state, mask, go_backwards, zero_output_for_mask,
            True, training)
        return (last_output, outputs, *states)

    small = batch <= BLOCK_LSTM_MAX_BATCH  # where BlockLSTM wins (right_padded_lstm)
    use_block = small if mask is None else tf.logical_and(small, right_padded)
    last_output, outputs, *states = tf.cond(use_block, block_op, loop)
    if return_sequences:
        outputs.set_shape(sequences.shape[:1] + [static_steps] + [cell.units])
    else:
        outputs = last_output[:, None]
    return last_output, outputs, states


def _masked_loop(cell, sequences, initial_state, mask, go_backwards=False,
                 zero_output_for_mask=False, return_sequences=True, training=True,
                 input_table=None):
    """Keras' ``backend.rnn`` contract for ``cell`` (an ``LSTMCell`` or a ``reset_after``
    ``GRUCell``, tanh / sigmoid) on the loops above.

    ``sequences`` [batch, time, features]; ``initial_state`` [h, c] or [h]; ``mask`` [batch,
    time] or None. Returns ``(last_output, outputs, states)`` as ``keras.layers.RNN.inner_loop``
    does: ``outputs`` [batch, time, units] (time reversed with ``go_backwards``), or [batch, 1,
    units] without ``return_sequences``. ``training`` picks the loop that keeps the gates for
    the backward pass; inference runs the same loop without keeping them (TensorFlow can still
    differentiate it).

    ``input_table`` [vocabulary, 4 units] (an LSTM's inference only): ``sequences`` are token
    ids [batch, time] and a step's input product (bias included, gates in the loop's order i,
    f, o, c) is the table's row for its id (``seqtasks.layers.input_table``). The ids are what
    the mask reorders, so the steps are moved as ids, before the rows are gathered.
    """
    if input_table is not None and (training or not isinstance(cell, keras.layers.LSTMCell)):
        raise ValueError("an input table feeds an LSTM's inference only")
    dtype = sequences.dtype if input_table is None else input_table.dtype
    if go_backwards:
        sequences = tf.reverse(sequences, axis=[1])
        mask = None if mask is None else tf.reverse(mask, axis=[1])
    steps_given, static_steps = tf.shape(sequences)[1], sequences.shape[1]
    # A batch of no steps (an empty prompt) runs one step of zeros instead, dropped below
    # (states: the initial ones): the loop must write something to stack.
    has_steps = steps_given > 0
    one_step = tf.stack([tf.shape(sequences)[0], 1])
    known = sequences.shape[:1] + [None] + sequences.shape[2:]  # static shapes survive the cond
    sequences = tf.ensure_shape(tf.cond(has_steps, lambda: sequences, lambda: tf.zeros(
        tf.concat([one_step, tf.shape(sequences)[2:]], axis=0), sequences.dtype)), known)
    time_steps = tf.shape(sequences)[1]
    if mask is not None:
        mask = tf.ensure_shape(tf.cond(has_steps, lambda: tf.cast(mask, tf.bool),
                                       lambda: tf.zeros(one_step, tf.bool)), known[:2])
        # Stable: the unmasked steps of each row keep their order, at the front.
        order = tf.argsort(tf.cast(tf.logical_not(mask), tf.int32), axis=1, stable=True)
        sequences = _take_steps(sequences, order)
        counts = tf.reduce_sum(tf.cast(mask, tf.int32), axis=1)
        # At least one step: a loop that writes nothing can't stack its unknown-batch arrays.
        # Positions past a row's own steps are never read, so the extra step changes nothing.
        steps_needed = tf.minimum(tf.reduce_max(tf.concat([counts, [1]], axis=0)), time_steps)
    else:
        steps_needed = time_steps
    if input_table is None:
        x = tf.transpose(sequences, [1, 0, 2])
        kernel = tf.cast(cell.kernel, dtype)
    else:  # the rows gathered straight into the loop's time-major layout
        x, kernel = tf.gather(input_table, tf.transpose(sequences)), None
    recurrent_kernel = tf.cast(cell.recurrent_kernel, dtype)
    if isinstance(cell, keras.layers.LSTMCell):
        forward, with_gradient, bias_shape = _lstm_forward, _lstm_with_fused_gradient, \
            [4 * cell.units]
    else:
        forward, with_gradient, bias_shape = _gru_forward, _gru_with_fused_gradient, \
            [2, 3 * cell.units]
    bias = None if kernel is None else \
        tf.cast(cell.bias, dtype) if cell.use_bias else tf.zeros(bias_shape, dtype)
    args = (x, *initial_state, kernel, recurrent_kernel, bias, steps_needed)
    # [time, batch, units] each (h, then the LSTM's cs): zeros after steps_needed
    sequences_of_states = with_gradient(*args) if training else \
        forward(*args, keep_gates=False)
    sequences_of_states = [tf.transpose(s, [1, 0, 2]) for s in sequences_of_states]
    h = sequences_of_states[0]
    if mask is None:
        outputs, states = h, [s[:, -1] for s in sequences_of_states]
    else:
        # Position t shows the state after the unmasked steps up to t: compacted step
        # (number of unmasked steps so far) - 1, or nothing yet (-1).
        done = tf.cumsum(tf.cast(mask, tf.int32), axis=1) - 1
        shown = tf.logical_and(mask, done >= 0) if zero_output_for_mask else done >= 0
        outputs = tf.where(shown[..., None], _take_steps(h, tf.maximum(done, 0)),
                           tf.zeros([], dtype))
        last = tf.maximum(counts - 1, 0)[:, None]
        any_step = (counts > 0)[:, None]
        states = [tf.where(any_step, _take_steps(s, last)[:, 0], initial)
                  for s, initial in zip(sequences_of_states, initial_state)]
    states = [tf.where(has_steps, state, initial) for state, initial in zip(states, initial_state)]
    last_output = tf.where(has_steps, outputs[:, -1], tf.zeros([], dtype))
    if return_sequences:
        outputs = outputs[:, :steps_given]
        outputs.set_shape(known[:1] + [static_steps] + outputs.shape[2:])
    else:
        outputs = last_output[:, None]
    return last_output, outputs, states


class _FusedLoop:
    """Mixin for ``ProjectedLSTM`` / ``ProjectedGRU``: the time loop of ``fused_rnn`` where it
    reproduces the layer, the projected Keras loop elsewhere."""

    def __init__(self, units, **kwargs):
        super().__init__(units, **kwargs)
        # LSTMBlockCellGrad has no XLA kernel: keeps model.compile(jit_compile="auto") off XLA.
        self.supports_jit = False

    def fused_applies(self, sequences, training) -> bool:
        cell = self.cell
        return (keras.backend.backend() in FUSED_BACKENDS
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
        states = list(initial_state) if isinstance(initial_state, (list, tuple)) \
            else [initial_state]
        if keras.backend.backend() == "torch":
            if not torch_rnn.applies(sequences, mask):
                return super().inner_loop(sequences, initial_state, mask, training=training)
            return torch_rnn.torch_rnn(self.cell, sequences, states, self.go_backwards,
                                       self.return_sequences)
        return fused_rnn(self.cell, sequences, states, mask, go_backwards=self.go_backwards,
                         zero_output_for_mask=self.zero_output_for_mask,
                         return_sequences=self.return_sequences, training=bool(training))


@keras.saving.register_keras_serializable(package="seqtasks")
class FusedLSTM(_FusedLoop, ProjectedLSTM):
    """``keras.layers.LSTM`` with its own, hoisted backward pass (see the module doc)."""


@keras.saving.register_keras_serializable(package="seqtasks")
class FusedGRU(_FusedLoop, ProjectedGRU):
    """``keras.layers.GRU`` (``reset_after=True``) with its own, hoisted backward pass."""
