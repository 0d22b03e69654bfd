"""Caps on the sizes a decoding signature takes at run time (``num_samples``, ``max_length``,
``beam_size``), written into the exported graph, so that a model served by any server (stock TF
Serving included) refuses a request that would take its memory or its thread.

A value over its cap fails the call with ``InvalidArgumentError`` (HTTP 400 / INVALID_ARGUMENT in
TF Serving) naming the input and the cap, before the loop starts; the loop itself runs on
``tf.minimum(value, cap)`` too, so no path through the graph exceeds the cap.
"""

from __future__ import annotations

import tensorflow as tf

MAX_NUM_SAMPLES = 1024  # samples per prompt
MAX_BEAM_SIZE = 64  # hypotheses per input
MAX_GENERATED_TOKENS = 4096  # tokens per sample (a model whose config asks more keeps its own)


def capped(value, cap: int, name: str) -> tf.Tensor:
    """``value`` (an int scalar tensor) as int32, checked against ``cap`` in the graph."""
    value = tf.cast(value, tf.int32)
    check = tf.debugging.Assert(
        value <= cap, [f"{name} is", value, f"over this model's cap of {cap}; ask for at most "
                       f"{cap}"], name=f"{name}_cap")
    with tf.control_dependencies([check]):
        return tf.minimum(value, cap)
