"""Linear-chain CRF: NLL and Viterbi against brute force over every tag path, constraints,
masking, the compile loss, and save/load."""

from __future__ import annotations

import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf

from helpers import assert_layer_roundtrip
from seqtasks.text import tag_schemes
from seqtasks.layers.crf import CRF

TAGS = ["O", "B-PER", "I-PER", "E-PER", "S-PER"]


def random_crf(num_tags: int, seed: int, constraints=(None, None, None)) -> CRF:
    rng = np.random.default_rng(seed)
    crf = CRF(num_tags, *constraints)
    crf.build((None, None, 3))
    for weight in (crf.transitions, crf.start_scores, crf.end_scores):
        weight.assign(rng.normal(size=weight.shape).astype("float32"))
    return crf


def random_batch(seed: int, batch: int = 3, time: int = 4, num_tags: int = 3):
    rng = np.random.default_rng(seed)
    potentials = rng.normal(scale=2.0, size=(batch, time, num_tags)).astype("float32")
    lengths = rng.integers(1, time + 1, size=batch)
    lengths[0] = time
    mask = np.arange(time)[None, :] < lengths[:, None]
    return potentials, mask, lengths


def path_scores(crf: CRF, potentials: np.ndarray, length: int):
    """Every path of ``length`` tags -> its score, computed the slow, obvious way."""
    start, transitions, end = (keras.ops.convert_to_numpy(s) for s in crf._scores())
    scores = {}
    for path in itertools.product(range(crf.num_tags), repeat=length):
        score = start[path[0]] + end[path[-1]]
        score += sum(potentials[t, tag] for t, tag in enumerate(path))
        score += sum(transitions[a, b] for a, b in zip(path, path[1:]))
        scores[path] = score
    return scores


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_nll_matches_brute_force(seed):
    crf = random_crf(3, seed)
    potentials, mask, lengths = random_batch(seed)
    rng = np.random.default_rng(seed + 10)
    tags = rng.integers(0, 3, size=mask.shape)
    nll = keras.ops.convert_to_numpy(crf.negative_log_likelihood(potentials, tags, mask))
    for row, length in enumerate(lengths):
        scores = path_scores(crf, potentials[row], length)
        log_z = np.logaddexp.reduce(np.array(list(scores.values()), dtype=np.float64))
        gold = tuple(tags[row, :length])
        np.testing.assert_allclose(nll[row], log_z - scores[gold], rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_viterbi_matches_brute_force_argmax(seed):
    crf = random_crf(3, seed)
    potentials, mask, lengths = random_batch(seed, batch=4, time=5)
    decoded = keras.ops.convert_to_numpy(crf.decode(potentials, mask))
    for row, length in enumerate(lengths):
        scores = path_scores(crf, potentials[row], length)
        assert tuple(decoded[row, :length]) == max(scores, key=scores.get)


@pytest.mark.parametrize("scheme", ["iob2", "iobes"])
def test_decoded_paths_respect_the_scheme(scheme):
    tags = ["O"] + [f"{p}-{t}" for t in ("PER", "LOC") for p in tag_schemes.PREFIXES[scheme]]
    crf = random_crf(len(tags), 5, tag_schemes.allowed_transitions(tags, scheme))
    rng = np.random.default_rng(5)
    potentials = rng.normal(scale=5.0, size=(64, 7, len(tags))).astype("float32")
    mask = np.arange(7)[None, :] < rng.integers(1, 8, size=64)[:, None]
    decoded = keras.ops.convert_to_numpy(crf.decode(potentials, mask))
    for row in range(64):
        path = [tags[i] for i in decoded[row, : mask[row].sum()]]
        assert tag_schemes.first_invalid(path, scheme) is None, path


def test_constrained_nll_matches_brute_force_over_allowed_paths():
    constraints = tag_schemes.allowed_transitions(TAGS, "iobes")
    crf = random_crf(len(TAGS), 7, constraints)
    potentials, mask, lengths = random_batch(7, batch=2, time=3, num_tags=len(TAGS))
    gold = np.array([[1, 3, 0], [4, 0, 0]])  # B-PER E-PER O / S-PER
    nll = keras.ops.convert_to_numpy(crf.negative_log_likelihood(potentials, gold, mask))
    for row, length in enumerate(lengths):
        scores = path_scores(crf, potentials[row], length)
        allowed = [s for p, s in scores.items()
                   if tag_schemes.first_invalid([TAGS[i] for i in p], "iobes") is None]
        log_z = np.logaddexp.reduce(np.array(allowed, dtype=np.float64))
        np.testing.assert_allclose(nll[row], log_z - scores[tuple(gold[row, :length])],
                                   rtol=1e-5, atol=1e-4)


def test_loss_reads_minus_one_as_padding():
    crf = random_crf(3, 3)
    potentials, mask, _ = random_batch(3)
    tags = np.where(mask, np.random.default_rng(3).integers(0, 3, size=mask.shape), -1)
    expected = crf.negative_log_likelihood(potentials, np.maximum(tags, 0), mask)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(crf.loss(tags, potentials)),
                               keras.ops.convert_to_numpy(expected), rtol=1e-6)


def test_single_step_and_empty_rows_in_a_graph():
    crf = random_crf(3, 4)
    potentials = np.random.default_rng(4).normal(size=(2, 1, 3)).astype("float32")
    mask = np.array([[True], [False]])
    decode = tf.function(crf.decode, autograph=False)
    decoded = decode(tf.constant(potentials), tf.constant(mask)).numpy()
    scores = path_scores(crf, potentials[0], 1)
    assert tuple(decoded[0]) == max(scores, key=scores.get)
    nll = crf.negative_log_likelihood(potentials, np.zeros((2, 1), int), mask)
    assert keras.ops.convert_to_numpy(nll)[1] == 0.0


def test_training_lowers_the_loss_to_the_gold_path():
    keras.utils.set_random_seed(1)
    features = np.random.default_rng(1).normal(size=(8, 5, 4)).astype("float32")
    gold = np.tile(np.array([1, 2, 3, 0, 4]), (8, 1))  # B-PER I-PER E-PER O S-PER
    crf = CRF(len(TAGS), *tag_schemes.allowed_transitions(TAGS, "iobes"))
    inputs = keras.Input((None, 4))
    model = keras.Model(inputs, crf(inputs))
    model.compile(optimizer=keras.optimizers.Adam(0.1), loss=crf.loss)
    history = model.fit(features, gold, epochs=30, verbose=0)
    assert history.history["loss"][-1] < 0.1 * history.history["loss"][0]
    decoded = crf.decode(model.predict(features, verbose=0), np.ones((8, 5), bool))
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(decoded), gold)


def test_config_and_save_roundtrip(tmp_path):
    constraints = tag_schemes.allowed_transitions(TAGS, "iobes")
    crf = random_crf(len(TAGS), 2, constraints)
    config = crf.get_config()
    assert config["num_tags"] == len(TAGS) and config["allowed_transitions"] == constraints[1]
    features = np.random.default_rng(2).normal(size=(2, 4, 3)).astype("float32")
    assert_layer_roundtrip(crf, features, tmp_path)
