"""Sequence log-probabilities under a step function, in windows so memory stays bounded.

``step_fn(ids [batch, window] int32, state) -> (logits [batch, window, vocab], new_state)`` runs
the model over one window, starting from ``state``; the state flows from window to window, so a
long text is scored as one sequence with the memory of ``window`` positions of logits.
"""

from __future__ import annotations

import tensorflow as tf


def sequence_log_probs(step_fn, state, ids: tf.Tensor, lengths: tf.Tensor, window: int,
                       ignored_targets=()) -> tuple[tf.Tensor, tf.Tensor]:
    """Total natural-log probability of ``ids[b, 1:lengths[b]]`` given what precedes each token.

    ``ids`` int32 [batch, time] (padded after ``lengths``). Targets in ``ignored_targets`` (a
    start symbol that is given, never predicted) are skipped. Returns ``log_prob`` float32
    [batch] and ``n_tokens`` int32 [batch], the number of tokens scored.
    """
    ids = tf.cast(ids, tf.int32)
    inputs, targets = ids[:, :-1], ids[:, 1:]
    n_targets = tf.shape(targets)[1]
    scored = tf.range(n_targets)[tf.newaxis, :] < tf.cast(lengths, tf.int32)[:, tf.newaxis] - 1
    for ignored in ignored_targets:
        scored = tf.logical_and(scored, tf.not_equal(targets, ignored))
    n_windows = (n_targets + window - 1) // window
    padding = [[0, 0], [0, n_windows * window - n_targets]]
    inputs, targets = tf.pad(inputs, padding), tf.pad(targets, padding)
    scored = tf.pad(scored, padding)
    batch_size = tf.shape(ids)[0]

    def body(index, state, total):
        span = slice(index * window, (index + 1) * window)
        logits, state = step_fn(inputs[:, span], state)
        log_probs = tf.nn.log_softmax(tf.cast(logits, tf.float32))
        picked = tf.gather(log_probs, targets[:, span], batch_dims=2)
        total += tf.reduce_sum(tf.where(scored[:, span], picked, 0.0), axis=1)
        return index + 1, state, total

    _, _, log_prob = tf.while_loop(lambda index, *_: index < n_windows, body,
                                   (tf.constant(0), state, tf.zeros([batch_size], tf.float32)))
    return log_prob, tf.reduce_sum(tf.cast(scored, tf.int32), axis=1)
