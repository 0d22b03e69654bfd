import keras
import numpy as np
import pytest

from seqtasks.errors import ConfigError
from seqtasks.layers.attention import (ATTENTION_CHOICES, BahdanauAttention, LuongAttention,
                                       make_attention, masked_softmax)

NAMES = [name for name in ATTENTION_CHOICES if name != "none"]


def inputs(batch=3, positions=5, dim=6, seed=0):
    rng = np.random.default_rng(seed)
    query = rng.normal(size=(batch, dim)).astype("float32")
    keys = rng.normal(size=(batch, positions, dim)).astype("float32")
    mask = np.arange(positions)[None, :] < np.array([[5], [3], [1]])[:batch]
    return query, keys, mask


@pytest.mark.parametrize("name", NAMES)
def test_weights_sum_to_one_are_zero_on_padding_and_weight_the_context(name):
    keras.utils.set_random_seed(0)
    query, keys, mask = inputs()
    context, weights = make_attention(name, 8)(query, keys, mask=mask)
    weights = keras.ops.convert_to_numpy(weights)
    np.testing.assert_allclose(weights.sum(-1), 1.0, rtol=1e-6)
    assert np.all(weights[~mask] == 0.0) and np.all(weights[mask] > 0)
    np.testing.assert_allclose(context, np.einsum("bp,bpd->bd", weights, keys), atol=1e-5)


@pytest.mark.parametrize("name", NAMES)
def test_padded_positions_change_nothing(name):
    keras.utils.set_random_seed(0)
    query, keys, mask = inputs()
    layer = make_attention(name, 8)
    context, weights = layer(query, keys, mask=mask)
    padded_keys = np.concatenate([keys, 100 * np.ones((3, 4, 6), "float32")], axis=1)
    padded_mask = np.concatenate([mask, np.zeros((3, 4), bool)], axis=1)
    padded_context, padded_weights = layer(query, padded_keys, mask=padded_mask)
    np.testing.assert_allclose(padded_context, context, atol=1e-5)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(padded_weights)[:, :5], weights,
                               atol=1e-6)


def test_bahdanau_and_luong_scores_match_their_formulas():
    query, keys, _ = inputs(batch=2)
    bahdanau = BahdanauAttention(4)
    _, weights = bahdanau(query, keys)
    w_q = keras.ops.convert_to_numpy(bahdanau.query_projection.kernel)
    w_k = keras.ops.convert_to_numpy(bahdanau.key_projection.kernel)
    b_k = keras.ops.convert_to_numpy(bahdanau.key_projection.bias)
    v = keras.ops.convert_to_numpy(bahdanau.energy.kernel)[:, 0]
    scores = np.tanh((query @ w_q)[:, None, :] + keys @ w_k + b_k) @ v
    expected = np.exp(scores) / np.exp(scores).sum(-1, keepdims=True)
    np.testing.assert_allclose(weights, expected, rtol=1e-5)

    _, dot_weights = LuongAttention("dot")(query, keys)
    scores = np.einsum("bd,bpd->bp", query, keys)
    expected = np.exp(scores - scores.max(-1, keepdims=True))
    np.testing.assert_allclose(dot_weights, expected / expected.sum(-1, keepdims=True), rtol=1e-5)


def test_a_cnn_feature_grid_without_mask_works_with_other_query_sizes():
    grid = np.random.default_rng(1).normal(size=(2, 7 * 7, 32)).astype("float32")
    query = np.ones((2, 10), "float32")
    for name in ("bahdanau", "luong_general"):
        context, weights = make_attention(name, 16)(query, grid)
        assert context.shape == (2, 32) and weights.shape == (2, 49)


def test_all_masked_rows_give_zero_weights():
    weights = masked_softmax(np.zeros((1, 3), "float32"), np.zeros((1, 3), bool))
    np.testing.assert_array_equal(weights, [[0.0, 0.0, 0.0]])


def test_config_errors():
    with pytest.raises(ConfigError, match="Luong dot attention needs queries and keys of the "
                                          "same size, got 10 and 32"):
        LuongAttention("dot")(np.ones((1, 10), "float32"), np.ones((1, 3, 32), "float32"))
    with pytest.raises(ConfigError, match="Unknown attention 'luong'. Expected one of: none, "
                                          "bahdanau, luong_dot, luong_general"):
        make_attention("luong", 8)
    with pytest.raises(ConfigError, match="Unknown Luong score 'cosine'"):
        LuongAttention("cosine")
    assert make_attention("none", 8) is None


@pytest.mark.parametrize("name", NAMES)
def test_layers_rebuild_from_their_config(name):
    query, keys, mask = inputs()
    layer = make_attention(name, 8)
    expected = layer(query, keys, mask=mask)
    clone = layer.__class__.from_config(layer.get_config())
    clone(query, keys, mask=mask)
    clone.set_weights(layer.get_weights())
    for a, b in zip(clone(query, keys, mask=mask), expected):
        np.testing.assert_allclose(a, b, atol=1e-6)
