"""Next-token samplers: logits [batch, vocab] + seed int32 [2] -> ids int32 [batch].

One small class per strategy, as in KerasHub's ``keras_hub/src/samplers``. Sampling uses
``tf.random.stateless_categorical``, so the same seed gives the same ids in eager code, in a
``tf.function`` and in a reloaded SavedModel. Parameters may be Python numbers or scalar tensors
(an exported signature passes them at run time). Order of operations, as in most toolkits:
divide by the temperature, keep the top k, then keep the nucleus of mass p.
"""

from __future__ import annotations

import tensorflow as tf


def _check_positive(name: str, value) -> None:
    if isinstance(value, (int, float)) and value <= 0:
        raise ValueError(f"{name} must be > 0, got {value}")


def scale_by_temperature(logits: tf.Tensor, temperature) -> tf.Tensor:
    """``logits / temperature`` (a temperature of 0 or less counts as a tiny positive one)."""
    temperature = tf.cast(temperature, logits.dtype)
    return logits / tf.maximum(temperature, tf.constant(1e-6, logits.dtype))


def keep_top_k(logits: tf.Tensor, k) -> tf.Tensor:
    """Logits outside the ``k`` largest of each row become -inf (k is clipped to 1..vocab).
    Ties with the k-th largest logit are kept too."""
    vocab = tf.shape(logits)[-1]
    k = tf.clip_by_value(tf.cast(k, tf.int32), 1, vocab)
    kth_largest = tf.math.top_k(logits, k=k).values[:, -1:]
    return tf.where(logits >= kth_largest, logits, tf.constant(-float("inf"), logits.dtype))


def keep_top_p(logits: tf.Tensor, p) -> tf.Tensor:
    """Keep the smallest set of most likely tokens whose probability reaches ``p`` (the nucleus,
    Holtzman et al. 2020); the most likely token is always kept. Others become -inf."""
    sorted_logits = tf.sort(logits, axis=-1, direction="DESCENDING")
    mass_before = tf.math.cumsum(tf.nn.softmax(sorted_logits), axis=-1, exclusive=True)
    in_nucleus = mass_before < tf.cast(p, logits.dtype)
    smallest_kept = tf.reduce_min(
        tf.where(in_nucleus, sorted_logits, tf.constant(float("inf"), logits.dtype)),
        axis=-1, keepdims=True)
    return tf.where(logits >= smallest_kept, logits, tf.constant(-float("inf"), logits.dtype))


def draw(logits: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """One id per row from the softmax of ``logits`` (-inf entries are never drawn)."""
    return tf.random.stateless_categorical(logits, 1, seed=seed, dtype=tf.int32)[:, 0]


class GreedySampler:
    """The most likely token; the seed is ignored."""

    def __call__(self, logits: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
        return tf.argmax(logits, axis=-1, output_type=tf.int32)


class TemperatureSampler:
    """Sample from softmax(logits / temperature): < 1 sharpens, > 1 flattens."""

    def __init__(self, temperature=1.0):
        _check_positive("temperature", temperature)
        self.temperature = temperature

    def __call__(self, logits: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
        return draw(scale_by_temperature(logits, self.temperature), seed)


class TopKSampler:
    """Sample among the ``k`` most likely tokens (Fan et al. 2018)."""

    def __init__(self, k, temperature=1.0):
        _check_positive("k", k)
        _check_positive("temperature", temperature)
        self.k = k
        self.temperature = temperature

    def __call__(self, logits: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
        return draw(keep_top_k(scale_by_temperature(logits, self.temperature), self.k), seed)


class TopPSampler:
    """Sample from the nucleus: the fewest most likely tokens with probability >= ``p``."""

    def __init__(self, p, temperature=1.0):
        if isinstance(p, (int, float)) and not 0 < p <= 1:
            raise ValueError(f"p must be in (0, 1], got {p}")
        _check_positive("temperature", temperature)
        self.p = p
        self.temperature = temperature

    def __call__(self, logits: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
        return draw(keep_top_p(scale_by_temperature(logits, self.temperature), self.p), seed)


class RuntimeSampler:
    """Every strategy behind one set of run-time parameters, for exported signatures that take
    them as inputs: temperature 0 is greedy; ``top_k`` <= 0 and ``top_p`` >= 1 switch those
    filters off; all of them may be scalar tensors."""

    def __init__(self, temperature, top_k, top_p):
        self.temperature, self.top_k, self.top_p = temperature, top_k, top_p

    def __call__(self, logits: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
        scaled = scale_by_temperature(logits, self.temperature)
        top_k = tf.cast(self.top_k, tf.int32)
        scaled = tf.cond(top_k > 0, lambda: keep_top_k(scaled, top_k), lambda: scaled)
        top_p = tf.cast(self.top_p, logits.dtype)
        scaled = tf.cond(top_p < 1, lambda: keep_top_p(scaled, top_p), lambda: scaled)
        greedy = tf.argmax(logits, axis=-1, output_type=tf.int32)
        return tf.where(tf.cast(self.temperature, logits.dtype) > 0, draw(scaled, seed), greedy)
