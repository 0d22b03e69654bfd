"""The sampling loop with fake step functions over a five-token alphabet (EOS = 4)."""

import numpy as np
import tensorflow as tf

from seqtasks.decoding import GreedySampler, TemperatureSampler, sample_loop

VOCAB, EOS = 5, 4


def successor_step(ids, state):
    """The next token is ``id + 1`` (clearly), then ``id + 2``; state counts steps per row and
    carries a nested structure through the loop."""
    logits = 10.0 * tf.one_hot((ids + 1) % VOCAB, VOCAB) + 5.0 * tf.one_hot((ids + 2) % VOCAB,
                                                                           VOCAB)
    return logits, {"steps": state["steps"] + 1, "pair": (state["pair"][0], state["pair"][1])}


def start_state(batch):
    return {"steps": tf.zeros([batch], tf.int32), "pair": (tf.zeros([batch, 3]), tf.ones([2]))}


def run(start, max_length, sampler=GreedySampler(), seed=(0, 0), banned_ids=None):
    ids, lengths = sample_loop(successor_step, start_state(len(start)), tf.constant(start),
                               max_length, sampler, EOS, tf.constant(seed), banned_ids)
    assert ids.dtype == tf.int32 and lengths.dtype == tf.int32
    return ids.numpy().tolist(), lengths.numpy().tolist()


def test_stops_when_every_row_has_emitted_eos_and_pads_with_eos():
    assert run([0, 2], max_length=50) == ([[1, 2, 3, 4], [3, 4, 4, 4]], [3, 1])


def test_stops_at_max_length():
    assert run([0, 2], max_length=2) == ([[1, 2], [3, 4]], [2, 1])
    assert run([0], max_length=0) == ([[1]], [1])  # at least one step


def test_rows_finishing_at_once_and_an_empty_batch():
    assert run([3, 3], max_length=9) == ([[4], [4]], [0, 0])
    ids, lengths = sample_loop(successor_step, start_state(0), tf.zeros([0], tf.int32), 5,
                               GreedySampler(), EOS, tf.constant([0, 0]))
    assert ids.shape[0] == 0 and lengths.shape == (0,)


def test_banned_ids_are_never_emitted():
    # From 0 the best token is 1; banned, the next best is 2, then 3, then EOS.
    assert run([0], max_length=9, banned_ids=[1]) == ([[2, 3, 4]], [2])
    assert run([0], max_length=9, banned_ids=tf.constant([1, 3])) == ([[2, 4]], [1])


def uniform_step(ids, state):
    return tf.zeros([tf.shape(ids)[0], VOCAB]), state + 1


def test_seeded_sampling_is_reproducible_and_seeds_differ():
    def sample(seed):
        ids, _ = sample_loop(uniform_step, tf.zeros([8]), tf.zeros([8], tf.int32), 30,
                             TemperatureSampler(1.0), EOS, tf.constant(seed), banned_ids=[EOS])
        return ids.numpy()

    first = sample([1, 2])
    assert first.shape == (8, 30) and (first != EOS).all()
    assert (first == sample([1, 2])).all()
    assert (first != sample([2, 1])).any()
    assert len({tuple(row) for row in first}) == 8  # rows draw independently


def test_exports_with_autograph_off_and_reloads(tmp_path):
    class Generator(tf.Module):
        @tf.function(autograph=False, input_signature=[tf.TensorSpec([None], tf.int32),
                                                       tf.TensorSpec([], tf.int32)])
        def generate(self, start, max_length):
            return sample_loop(successor_step, start_state(tf.shape(start)[0]), start,
                               max_length, GreedySampler(), EOS, tf.constant([0, 0]))

    tf.saved_model.save(Generator(), str(tmp_path))
    ids, lengths = tf.saved_model.load(str(tmp_path)).generate(tf.constant([0, 2]), 50)
    assert ids.numpy().tolist() == [[1, 2, 3, 4], [3, 4, 4, 4]]
    assert lengths.numpy().tolist() == [3, 1]
    np.testing.assert_array_equal(
        tf.saved_model.load(str(tmp_path)).generate(tf.constant([1]), 2)[0], [[2, 3]])
