"""The LSTM's inference loop for right-padded batches: TensorFlow's fused ``BlockLSTM`` op.

What an exported model serves is right-padded (the text encoder pads each sentence's ids at the
end), so each row's steps already sit at the front: the forward direction needs no compaction of
its masked steps, and the backward one only ``tf.reverse_sequence`` by length. The whole sequence
then runs in one stock op, ``BlockLSTM`` (weights ``[kernel; recurrent_kernel]`` with the gate
blocks regrouped to its order i, c, f, o; no forget bias, no clipping): its time loop is in C++,
so the executor schedules one op per direction instead of a dozen per step, and the two
directions of a bidirectional layer are two independent ops. That wins where the per-step ops'
overhead dominates, small batches; above about 32 rows the loop's oneDNN products win, since
``BlockLSTM`` multiplies ``[x, h]`` with Eigen every step (``BLOCK_LSTM_MAX_BATCH``;
bench/results/serving-graph-levers.json).

Outputs and states follow Keras' masked-step semantics exactly as ``fused_rnn`` gives them
(a masked step leaves the state unchanged; its output repeats the last one, or is zero with
``zero_output_for_mask``; ``go_backwards`` reverses the whole padded sequence first), so the two
agree to float rounding. ``BlockLSTM`` has a CPU kernel in stock TensorFlow and TF Serving (no
cuDNN, no custom op). Training keeps ``fused_rnn``'s own loop and backward pass.
"""

from __future__ import annotations

# Imported when first used, as Keras does: the layer module loads under any backend.
from keras.src.utils.module_utils import tensorflow as tf

# Batches up to this many rows run BlockLSTM; larger ones the loop (measured: CPU time per batch
# of the BiLSTM(128) at 1 thread, BlockLSTM / loop: 0.548 at 1 row, 0.755 at 8, 0.97 at 32,
# 1.054 at 64; bench/results/serving-graph-levers.json, "batch_sweep").
BLOCK_LSTM_MAX_BATCH = 32


def is_right_padded(mask, lengths):
    """True (a scalar tensor) when every row's unmasked steps are its first ``lengths``."""
    return tf.reduce_all(tf.equal(mask, tf.sequence_mask(lengths, tf.shape(mask)[1])))


def _icfo(weights):
    """Keras' gate blocks [i, f, c, o] along the last axis -> BlockLSTM's [i, c, f, o]."""
    i, f, c, o = tf.split(weights, 4, axis=-1)
    return tf.concat([i, c, f, o], axis=-1)


def _block_lstm(x, lengths, h0, c0, kernel, recurrent_kernel, bias):
    """Hidden states [time, batch, units] of the LSTM over time-major ``x``; steps after the
    longest row are zeros, steps after a shorter row's length are not meaningful.

    ``BlockLSTM`` (gate order i, c, f, o) rather than ``BlockLSTMV2`` (Keras' order): the same
    kernel, but V1's registered gradient is right, so a gradient taken through inference (the
    gradient probe of ``seqtasks diagnose``) stays exact.
    """
    units = tf.shape(h0)[-1]
    no_peephole = tf.zeros([units], x.dtype)
    longest = tf.cast(tf.reduce_max(tf.concat([lengths, [0]], axis=0)), tf.int64)
    outputs = tf.raw_ops.BlockLSTM(
        seq_len_max=longest, x=x, cs_prev=c0, h_prev=h0,
        w=_icfo(tf.concat([kernel, recurrent_kernel], axis=0)), wci=no_peephole,
        wcf=no_peephole, wco=no_peephole, b=_icfo(bias), forget_bias=0.0, cell_clip=-1.0,
        use_peephole=False)
    return outputs[1], outputs[-1]  # cs, h


def right_padded_lstm(cell, sequences, lengths, initial_state, go_backwards,
                      zero_output_for_mask):
    """``(outputs [batch, time, units], [h, c])`` of ``cell`` (an ``LSTMCell``) over
    ``sequences`` [batch, time, features] whose row ``b`` has its ``lengths[b]`` steps first.

    ``outputs`` are in Keras' order (time reversed with ``go_backwards``), masked steps as
    Keras shows them; the states are those after each row's last step (the initial ones for a
    row of no steps).
    """
    dtype = sequences.dtype
    h0, c0 = initial_state
    x = tf.transpose(sequences, [1, 0, 2])  # [time, batch, features]
    if go_backwards:  # each row's own steps reversed, its padding left where it is
        x = tf.reverse_sequence(x, lengths, seq_axis=0, batch_axis=1)
    kernel = tf.cast(cell.kernel, dtype)
    recurrent_kernel = tf.cast(cell.recurrent_kernel, dtype)
    bias = tf.cast(cell.bias, dtype) if cell.use_bias else tf.zeros([4 * cell.units], dtype)
    cells, hidden = _block_lstm(x, lengths, h0, c0, kernel, recurrent_kernel, bias)
    hidden = tf.transpose(hidden, [1, 0, 2])  # [batch, time, units]
    cells = tf.transpose(cells, [1, 0, 2])
    any_step = (lengths > 0)[:, None]
    last = tf.maximum(lengths - 1, 0)[:, None]
    states = [tf.where(any_step, tf.gather(s, last, batch_dims=1)[:, 0], initial)
              for s, initial in zip((hidden, cells), (h0, c0))]
    valid = tf.sequence_mask(lengths, tf.shape(hidden)[1])[..., None]
    if go_backwards:
        # Keras' reversed outputs: the padding comes first (nothing computed yet: zeros), then
        # the row's steps in the order they were run.
        hidden = tf.reverse_sequence(hidden, lengths, seq_axis=1, batch_axis=0)
        outputs = tf.reverse(tf.where(valid, hidden, tf.zeros([], dtype)), axis=[1])
    else:
        # After a row's last step Keras repeats its last output (or shows zeros).
        after = tf.zeros([], dtype) if zero_output_for_mask else \
            tf.where(any_step, states[0], tf.zeros([], dtype))[:, None]
        outputs = tf.where(valid, hidden, after)
    return outputs, states
