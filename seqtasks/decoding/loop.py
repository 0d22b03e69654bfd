"""The sampling loop shared by language models and translation, as one ``tf.while_loop``.

The loop knows nothing about models: ``step_fn(ids [batch] int32, state) -> (logits [batch,
vocab], new_state)`` feeds one token per row, ``state`` is any nested structure of tensors whose
shapes stay fixed (recurrent states, attention memory, ...). Written with graph ops only, so it
traces with autograph off, the way exported signatures are traced.
"""

from __future__ import annotations

from typing import Callable

import tensorflow as tf

StepFn = Callable[[tf.Tensor, object], tuple[tf.Tensor, object]]


def banned_mask(banned_ids, vocab_size: tf.Tensor) -> tf.Tensor:
    """bool [vocab]: True at every id in ``banned_ids`` (None or empty: nothing banned)."""
    if banned_ids is None:
        return tf.zeros([vocab_size], tf.bool)
    banned_ids = tf.reshape(tf.cast(banned_ids, tf.int32), [-1, 1])
    return tf.reduce_any(tf.equal(tf.range(vocab_size)[tf.newaxis, :], banned_ids), axis=0)


def sample_loop(step_fn: StepFn, state, start_ids, max_length, sampler, eos_id, seed,
                banned_ids=None) -> tuple[tf.Tensor, tf.Tensor]:
    """Generate up to ``max_length`` tokens per row, starting by feeding ``start_ids``.

    Each step draws ``sampler(logits, seed_t)`` with ``seed_t`` folded from ``seed`` (int32 [2])
    and the step number, so a seed reproduces the same samples. Ids in ``banned_ids`` are never
    drawn. A row is finished once it draws ``eos_id``; the loop stops when every row is finished
    or after ``max_length`` steps (at least 1).

    Returns ``ids`` int32 [batch, time] (time <= max_length) and ``lengths`` int32 [batch]: row
    ``b`` generated ``ids[b, :lengths[b]]``, then ``eos_id`` if it finished; every position after
    that holds ``eos_id`` too. EOS is not counted in ``lengths``.
    """
    start_ids = tf.cast(start_ids, tf.int32)
    max_length = tf.maximum(tf.cast(max_length, tf.int32), 1)
    eos_id = tf.cast(eos_id, tf.int32)
    seed = tf.cast(seed, tf.int32)
    batch_size = tf.shape(start_ids)[0]
    logits, state = step_fn(start_ids, state)
    banned = banned_mask(banned_ids, tf.shape(logits)[-1])
    negative_infinity = tf.constant(-float("inf"), logits.dtype)

    def keep_going(step, logits, state, finished, lengths, outputs):
        # Always one step, so that stacking never sees an empty TensorArray (empty batches).
        return tf.logical_and(step < max_length,
                              tf.logical_or(step == 0, tf.logical_not(tf.reduce_all(finished))))

    def body(step, logits, state, finished, lengths, outputs):
        allowed = tf.where(banned, negative_infinity, logits)
        ids = sampler(allowed, tf.random.experimental.stateless_fold_in(seed, step))
        ids = tf.where(finished, eos_id, tf.cast(ids, tf.int32))
        finished = tf.logical_or(finished, tf.equal(ids, eos_id))
        lengths += tf.cast(tf.logical_not(finished), tf.int32)
        logits, state = step_fn(ids, state)
        return step + 1, logits, state, finished, lengths, outputs.write(step, ids)

    loop_vars = (tf.constant(0), logits, state, tf.zeros([batch_size], tf.bool),
                 tf.zeros([batch_size], tf.int32),
                 tf.TensorArray(tf.int32, size=0, dynamic_size=True, element_shape=[None]))
    _, _, _, _, lengths, outputs = tf.while_loop(keep_going, body, loop_vars)
    return tf.transpose(outputs.stack()), lengths
