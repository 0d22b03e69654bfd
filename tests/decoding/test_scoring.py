"""Windowed sequence scoring against a brute-force sum, with a stateful fake model."""

import numpy as np
import pytest
import tensorflow as tf

from seqtasks.decoding.scoring import sequence_log_probs

VOCAB = 6
rng = np.random.default_rng(0)
TABLE = rng.normal(size=(VOCAB, VOCAB)).astype(np.float32)  # logits of next given current


def step(ids, state):
    """Bigram logits plus the running count of tokens seen (so the state matters)."""
    counts = state[:, tf.newaxis] + tf.cumsum(tf.ones_like(ids, tf.float32), axis=1)
    logits = tf.gather(tf.constant(TABLE), ids) + counts[:, :, tf.newaxis] * tf.one_hot(
        0, VOCAB)
    return logits, counts[:, -1]


def brute_force(row, ignored=()):
    total, n = 0.0, 0
    for position in range(1, len(row)):
        logits = TABLE[row[position - 1]] + position * np.eye(VOCAB)[0]
        log_probs = logits - np.log(np.exp(logits).sum())
        if row[position] not in ignored:
            total += log_probs[row[position]]
            n += 1
    return total, n


@pytest.mark.parametrize("window", [1, 2, 3, 7, 64])
def test_every_window_size_gives_the_brute_force_log_probability(window):
    rows = [[1, 2, 3, 4, 5, 0, 1, 2], [3, 3], [2], [5, 4, 3, 2, 1]]
    width = max(map(len, rows))
    ids = tf.constant([row + [0] * (width - len(row)) for row in rows])
    log_prob, n_tokens = sequence_log_probs(step, tf.zeros([len(rows)]), ids,
                                            tf.constant([len(r) for r in rows]), window,
                                            ignored_targets=(2,))
    expected = [brute_force(row, ignored=(2,)) for row in rows]
    np.testing.assert_allclose(log_prob.numpy(), [e[0] for e in expected], rtol=1e-5, atol=1e-5)
    assert n_tokens.numpy().tolist() == [e[1] for e in expected]
