"""Beam search over the same ``step_fn`` as ``sample_loop``, as one ``tf.while_loop``.

``step_fn(ids [batch] int32, state) -> (logits [batch, vocab], new_state)``; every tensor in
``state`` is batch-major (memory included), so the search can repeat it ``beam_size`` times and
reorder it when a hypothesis inherits another's history. Each step keeps the ``beam_size`` best
continuations of all hypotheses by total log-probability; a finished hypothesis (it emitted
``eos_id``) stays in the beam with its score and continues only with ``eos_id`` at no cost. At
the end hypotheses are ranked by score / length penalty, GNMT's ``((5 + length) / 6) ** alpha``
(Wu et al., 2016), with ``length`` counting the tokens and the [EOS]; alpha 0 ranks by total
log-probability. Beam size 1 is greedy decoding.
"""

from __future__ import annotations

import tensorflow as tf

from seqtasks.decoding.loop import StepFn

DEAD = -1e9  # score of a beam slot that holds no hypothesis (fewer candidates than slots)


def length_penalty(lengths, alpha):
    """GNMT's length normaliser ``((5 + length) / 6) ** alpha``."""
    return tf.pow((5.0 + tf.cast(lengths, tf.float32)) / 6.0, tf.cast(alpha, tf.float32))


def beam_search(step_fn: StepFn, state, start_ids, max_length, beam_size, eos_id,
                alpha=0.0) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """Up to ``max_length`` tokens per row (at least 1), ``beam_size`` hypotheses per row.

    Returns ``ids`` int32 [batch, beam, time], ``lengths`` int32 [batch, beam] (tokens before
    [EOS], as ``sample_loop`` counts them; positions after hold ``eos_id``) and ``scores``
    float32 [batch, beam] (log-probability / length penalty), best hypothesis first.
    """
    start_ids = tf.cast(start_ids, tf.int32)
    if not isinstance(beam_size, int):  # a Python int keeps the beam axis static in the loop
        beam_size = tf.cast(beam_size, tf.int32)
    eos_id = tf.cast(eos_id, tf.int32)
    max_length = tf.maximum(tf.cast(max_length, tf.int32), 1)
    batch_size = tf.shape(start_ids)[0]
    state = tf.nest.map_structure(lambda t: tf.repeat(t, beam_size, axis=0), state)
    logits, state = step_fn(tf.repeat(start_ids, beam_size), state)
    vocab_size = tf.shape(logits)[-1]
    only_eos = tf.where(tf.range(vocab_size) == eos_id, 0.0, DEAD)  # a finished beam's future
    # At the start all beams are the same, so only the first one may expand.
    scores = tf.where(tf.range(beam_size)[tf.newaxis, :] == 0, 0.0, DEAD)
    scores = tf.tile(scores, [batch_size, 1])

    def keep_going(step, logits, state, scores, finished, lengths, ids):
        return tf.logical_and(step < max_length,
                              tf.logical_or(step == 0, tf.logical_not(tf.reduce_all(finished))))

    def body(step, logits, state, scores, finished, lengths, ids):
        log_probs = tf.nn.log_softmax(tf.cast(logits, tf.float32))
        log_probs = tf.reshape(log_probs, [batch_size, beam_size, vocab_size])
        log_probs = tf.where(finished[:, :, tf.newaxis], only_eos, log_probs)
        candidates = tf.reshape(scores[:, :, tf.newaxis] + log_probs, [batch_size, -1])
        scores, best = tf.math.top_k(candidates, k=beam_size)
        parents, tokens = best // vocab_size, best % vocab_size
        ids = tf.gather(ids, parents, batch_dims=1)
        ids = tf.where(tf.range(max_length) == step, tokens[:, :, tf.newaxis], ids)
        was_finished = tf.gather(finished, parents, batch_dims=1)
        finished = tf.logical_or(was_finished, tf.equal(tokens, eos_id))
        lengths = tf.gather(lengths, parents, batch_dims=1) + tf.cast(~finished, tf.int32)
        rows = tf.reshape(parents + tf.range(batch_size)[:, tf.newaxis] * beam_size, [-1])
        state = tf.nest.map_structure(lambda t: tf.gather(t, rows), state)
        logits, state = step_fn(tf.reshape(tokens, [-1]), state)
        return step + 1, logits, state, scores, finished, lengths, ids

    loop_vars = (tf.constant(0), logits, state, scores,
                 tf.zeros([batch_size, beam_size], tf.bool),
                 tf.zeros([batch_size, beam_size], tf.int32),
                 tf.fill([batch_size, beam_size, max_length], eos_id))
    steps, _, _, scores, finished, lengths, ids = tf.while_loop(keep_going, body, loop_vars)
    scores = scores / length_penalty(lengths + tf.cast(finished, tf.int32), alpha)
    scores, order = tf.math.top_k(scores, k=beam_size)
    return (tf.gather(ids, order, batch_dims=1)[:, :, :steps],
            tf.gather(lengths, order, batch_dims=1), scores)
