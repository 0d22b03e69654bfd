"""Samplers on a fixed toy distribution over five tokens, where every answer is known by hand."""

import numpy as np
import pytest
import tensorflow as tf

from seqtasks.decoding import (GreedySampler, RuntimeSampler, TemperatureSampler, TopKSampler,
                               TopPSampler, make_sampler)
from seqtasks.errors import ConfigError

PROBS = np.array([0.5, 0.25, 0.15, 0.07, 0.03])
DRAWS = 20000


def logits(rows: int = DRAWS) -> tf.Tensor:
    return tf.constant(np.tile(np.log(PROBS), (rows, 1)), tf.float32)


def frequencies(sampler, seed=(1, 2)) -> np.ndarray:
    ids = sampler(logits(), tf.constant(seed, tf.int32)).numpy()
    assert ids.dtype == np.int32 and ids.shape == (DRAWS,)
    return np.bincount(ids, minlength=len(PROBS)) / DRAWS


def softmax(x):
    e = np.exp(x - x.max())
    return e / e.sum()


def test_greedy_takes_the_most_likely_token_whatever_the_seed():
    mixed = tf.constant([[0.1, 3.0, -1.0], [2.0, 1.0, 0.0]])
    for seed in ([0, 0], [5, 9]):
        assert GreedySampler()(mixed, tf.constant(seed)).numpy().tolist() == [1, 0]


@pytest.mark.parametrize("temperature", [1.0, 0.5, 2.0])
def test_temperature_sampling_follows_the_tempered_softmax(temperature):
    expected = softmax(np.log(PROBS) / temperature)
    np.testing.assert_allclose(frequencies(TemperatureSampler(temperature)), expected, atol=0.015)


def test_temperature_near_zero_is_greedy():
    for seed in range(5):
        ids = TemperatureSampler(1e-4)(logits(500), tf.constant([seed, 3])).numpy()
        assert (ids == 0).all()


def test_top_k_never_leaves_the_k_most_likely_and_keeps_their_ratios():
    observed = frequencies(TopKSampler(2))
    assert observed[2:].sum() == 0
    np.testing.assert_allclose(observed[:2], PROBS[:2] / PROBS[:2].sum(), atol=0.015)
    assert (frequencies(TopKSampler(1)) == [1, 0, 0, 0, 0]).all()


@pytest.mark.parametrize("p, nucleus", [(0.5, 1), (0.7, 2), (0.75, 2), (0.8, 3), (1.0, 5)])
def test_top_p_keeps_the_smallest_set_reaching_mass_p(p, nucleus):
    observed = frequencies(TopPSampler(p))
    assert observed[nucleus:].sum() == 0
    np.testing.assert_allclose(observed[:nucleus], PROBS[:nucleus] / PROBS[:nucleus].sum(),
                               atol=0.015)


def test_same_seed_same_samples_other_seed_other_samples():
    sampler = TopPSampler(0.9, temperature=1.5)
    first = sampler(logits(200), tf.constant([7, 7])).numpy()
    assert (first == sampler(logits(200), tf.constant([7, 7])).numpy()).all()
    assert (first != sampler(logits(200), tf.constant([7, 8])).numpy()).any()


def test_runtime_sampler_matches_each_strategy_draw_for_draw():
    seed = tf.constant([3, 4])
    x = logits(300)
    cases = [(RuntimeSampler(0.0, 0, 1.0), GreedySampler()),
             (RuntimeSampler(0.7, 0, 1.0), TemperatureSampler(0.7)),
             (RuntimeSampler(1.0, 2, 1.0), TopKSampler(2)),
             (RuntimeSampler(1.3, 0, 0.8), TopPSampler(0.8, temperature=1.3))]
    for runtime, reference in cases:
        assert (runtime(x, seed).numpy() == reference(x, seed).numpy()).all()


def test_runtime_parameters_may_be_tensors_in_a_graph_without_autograph():
    @tf.function(autograph=False, input_signature=[
        tf.TensorSpec([None, 5]), tf.TensorSpec([], tf.float32), tf.TensorSpec([], tf.int32),
        tf.TensorSpec([], tf.float32), tf.TensorSpec([2], tf.int32)])
    def sample(x, temperature, top_k, top_p, seed):
        return RuntimeSampler(temperature, top_k, top_p)(x, seed)

    ids = sample(logits(1000), 1.0, 3, 1.0, tf.constant([1, 1])).numpy()
    assert set(ids.tolist()) == {0, 1, 2}
    assert (sample(logits(10), 0.0, 0, 1.0, tf.constant([1, 1])).numpy() == 0).all()


def test_make_sampler_by_name_and_bad_values():
    assert isinstance(make_sampler("greedy"), GreedySampler)
    top_k = make_sampler("top_k", temperature=0.5, top_k=3)
    assert isinstance(top_k, TopKSampler) and (top_k.k, top_k.temperature) == (3, 0.5)
    assert make_sampler("top_p", top_p=0.8).p == 0.8
    assert make_sampler("temperature", temperature=2.0).temperature == 2.0
    with pytest.raises(ConfigError, match="Unknown sampler 'topk'. Expected one of: greedy"):
        make_sampler("topk")
    for bad in (lambda: TemperatureSampler(0), lambda: TopKSampler(0), lambda: TopPSampler(1.5)):
        with pytest.raises(ValueError):
            bad()
