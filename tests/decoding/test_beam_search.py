"""Beam search against brute force and greedy decoding, on hand-built next-token tables."""

import itertools

import numpy as np
import pytest
import tensorflow as tf

from seqtasks.decoding import GreedySampler, sample_loop
from seqtasks.decoding.beam_search import beam_search, length_penalty

EOS = 1


def table_step_fn(log_probs: np.ndarray):
    """A fake model: log_probs[row, position, previous token] is the next-token distribution of
    row ``row`` (the state says which row and position each hypothesis is at)."""
    table = tf.constant(log_probs, tf.float32)
    last_position = log_probs.shape[1] - 1

    def step_fn(ids, state):
        position = tf.minimum(state["position"], last_position)
        logits = tf.gather_nd(table, tf.stack([state["row"], position, ids], axis=1))
        return logits, {"row": state["row"], "position": state["position"] + 1}

    return step_fn


def random_table(rows, positions, vocab, seed):
    logits = np.random.default_rng(seed).normal(scale=2.0, size=(rows, positions, vocab, vocab))
    return logits - np.log(np.exp(logits).sum(-1, keepdims=True))


def start_state(rows):
    return {"row": tf.range(rows), "position": tf.zeros([rows], tf.int32)}


def brute_force_best(log_probs, row, max_length, alpha):
    """The best (tokens before EOS, normalised score) over every possible output."""
    vocab = log_probs.shape[-1]
    best = (None, -np.inf)
    for length in range(1, max_length + 1):
        for tokens in itertools.product(range(vocab), repeat=length):
            if EOS in tokens[:-1] or (tokens[-1] != EOS and length < max_length):
                continue
            previous, total = 0, 0.0
            for position, token in enumerate(tokens):
                total += log_probs[row, position, previous, token]
                previous = token
            score = total / length_penalty(length, alpha).numpy()
            if score > best[1]:
                best = (tokens[:-1] if tokens[-1] == EOS else tokens, score)
    return best


@pytest.mark.parametrize("alpha", [0.0, 0.6, 2.0])
def test_a_wide_beam_finds_the_brute_force_best(alpha):
    vocab, max_length, rows = 4, 3, 3
    log_probs = random_table(rows, max_length, vocab, seed=3)
    ids, lengths, scores = beam_search(table_step_fn(log_probs), start_state(rows),
                                       tf.zeros([rows], tf.int32), max_length,
                                       beam_size=vocab ** max_length, eos_id=EOS, alpha=alpha)
    for row in range(rows):
        tokens, score = brute_force_best(log_probs, row, max_length, alpha)
        found = tuple(ids[row, 0, : lengths[row, 0]].numpy())
        assert found == tuple(tokens)
        assert scores[row, 0].numpy() == pytest.approx(score, abs=1e-4)
    assert np.all(np.diff(scores.numpy(), axis=1) <= 1e-6)  # best first


def test_beam_size_one_is_greedy_decoding():
    vocab, max_length, rows = 6, 8, 5
    step_fn = table_step_fn(random_table(rows, max_length, vocab, seed=11))
    start = tf.zeros([rows], tf.int32)
    greedy_ids, greedy_lengths = sample_loop(step_fn, start_state(rows), start, max_length,
                                             GreedySampler(), EOS, seed=tf.constant([0, 0]))
    ids, lengths, _ = beam_search(step_fn, start_state(rows), start, max_length, 1, EOS)
    np.testing.assert_array_equal(lengths[:, 0], greedy_lengths)
    for row in range(rows):
        n = greedy_lengths[row]
        np.testing.assert_array_equal(ids[row, 0, :n], greedy_ids[row, :n])


def test_beam_search_beats_greedy_where_the_likeliest_first_token_leads_nowhere():
    # From the start: token 2 (p=0.6) or 3 (p=0.4). After 2 every next token is equally likely;
    # after 3 [EOS] is almost certain. Greedy takes 2 (total <= 0.6 * 0.25); the beam finds 3.
    probs = np.full((1, 3, 4, 4), 0.25)
    probs[0, 0, 0] = [0.0, 0.0, 0.6, 0.4]
    probs[0, :, 3] = [0.0, 0.97, 0.01, 0.02]
    log_probs = np.log(np.maximum(probs, 1e-12))
    step_fn, start = table_step_fn(log_probs), tf.zeros([1], tf.int32)
    greedy_ids, _ = sample_loop(step_fn, start_state(1), start, 3, GreedySampler(), EOS,
                                seed=tf.constant([0, 0]))
    ids, lengths, scores = beam_search(step_fn, start_state(1), start, 3, 2, EOS)
    assert greedy_ids[0, 0] == 2
    assert ids[0, 0, : lengths[0, 0]].numpy().tolist() == [3]
    assert scores[0, 0].numpy() == pytest.approx(np.log(0.4 * 0.97), abs=1e-5)


def test_beam_search_traces_with_autograph_off_and_a_runtime_beam_size():
    vocab, max_length, rows = 5, 6, 4
    log_probs = random_table(rows, max_length, vocab, seed=5)
    step_fn = table_step_fn(log_probs)

    @tf.function(autograph=False, input_signature=[tf.TensorSpec([None], tf.int32),
                                                   tf.TensorSpec([], tf.int32)])
    def search(rows_to_decode, beam_size):
        state = {"row": rows_to_decode, "position": tf.zeros_like(rows_to_decode)}
        return beam_search(step_fn, state, tf.zeros_like(rows_to_decode), max_length, beam_size,
                           EOS, alpha=0.6)

    eager = beam_search(step_fn, start_state(rows), tf.zeros([rows], tf.int32), max_length, 3,
                        EOS, alpha=0.6)
    traced = search(tf.range(rows), tf.constant(3))
    for a, b in zip(eager, traced):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-6)
    assert traced[0].shape[:2] == (rows, 3)
    empty_ids, _, _ = search(tf.zeros([0], tf.int32), tf.constant(2))
    assert empty_ids.shape[:2] == (0, 2)


def test_rows_shorter_than_the_limit_end_with_eos_padding():
    log_probs = random_table(4, 10, 5, seed=2)
    ids, lengths, _ = beam_search(table_step_fn(log_probs), start_state(4),
                                  tf.zeros([4], tf.int32), 10, 3, EOS)
    for row, beam in itertools.product(range(4), range(3)):
        n = lengths[row, beam].numpy()
        assert EOS not in ids[row, beam, :n].numpy()
        assert set(ids[row, beam, n:].numpy()) <= {EOS}
