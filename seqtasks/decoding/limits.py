"""Per-row output length limits for any ``step_fn`` (greedy, sampling or beam search).

A translation should stop near its source's length, not at one global maximum. ``limit_lengths``
wraps a step function so that its state also holds each row's output position and limit; from the
limit on, the only possible next token is ``eos_id``.
"""

from __future__ import annotations

import tensorflow as tf

from seqtasks.decoding.loop import StepFn

EXCLUDED = -1e9  # logit of a token that must not be chosen


def limit_lengths(step_fn: StepFn, eos_id) -> StepFn:
    """``step_fn`` over the state ``limited_state`` builds."""

    def limited(ids, state):
        logits, inner = step_fn(ids, state["inner"])
        only_eos = tf.where(tf.range(tf.shape(logits)[-1]) == eos_id, 0.0, EXCLUDED)
        over = state["position"] >= state["limit"]
        logits = tf.where(over[:, tf.newaxis], tf.cast(only_eos, logits.dtype), logits)
        return logits, {**state, "inner": inner, "position": state["position"] + 1}

    return limited


def limited_state(state, limits) -> dict:
    """The start state of ``limit_lengths(step_fn)``: rows may emit ``limits`` [batch] tokens,
    then [EOS]."""
    limits = tf.cast(limits, tf.int32)
    return {"inner": state, "position": tf.zeros_like(limits), "limit": limits}
