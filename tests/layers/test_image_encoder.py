"""The CNN grid encoder, attention over its grid, and the doubly stochastic attention penalty."""

import keras
import numpy as np
import pytest

from pipelines import caption
from seqtasks.errors import ConfigError
from seqtasks.layers.decoder import coverage_penalty
from seqtasks.layers.image_encoder import grid_size, image_encoder


def tiny(**overrides):
    from seqtasks import config as config_lib

    return config_lib.replace(caption.CaptionConfig(
        filters="4,8", units=16, embedding_dim=8, attention_units=8, seed=1), **overrides)


def test_grid_has_one_position_per_cell_and_an_all_true_mask():
    images = keras.Input((40, 112, 3))
    encoded = image_encoder(images, (4, 8, 16), global_context="mean")
    model = keras.Model(images, encoded)
    out = model(np.random.default_rng(0).random((2, 40, 112, 3)).astype("float32"))
    assert grid_size(40, 112, 3) == (5, 14)
    assert tuple(out["memory"].shape) == (2, 70, 16) and tuple(out["summary"].shape) == (2, 16)
    assert bool(np.all(keras.ops.convert_to_numpy(out["mask"])))


def test_attention_weights_over_the_grid_sum_to_one_at_every_step():
    config = tiny()
    model = caption.build(config, vocab_size=12)
    images = np.random.default_rng(1).random((3, 20, 56, 3)).astype("float32")
    encoded = model.encoder(images)
    steps = np.array([[2, 5, 6, 7], [2, 8, 0, 0], [2, 4, 4, 9]], "int32")
    weights = keras.ops.convert_to_numpy(model.decoder.attention_weights(
        steps, encoded["memory"], encoded["summary"], encoded["mask"]))
    assert weights.shape == (3, 4, 5 * 14) and weights.min() >= 0
    np.testing.assert_allclose(weights.sum(-1), 1.0, rtol=1e-5)


def test_coverage_penalty_counts_real_steps_and_positions_only():
    weights = np.array([[[0.5, 0.5, 0.0], [0.5, 0.0, 0.5], [1.0, 0.0, 0.0]]], "float32")
    steps = np.array([[True, True, False]])  # the last step is padding
    # totals over real steps: [1.0, 0.5, 0.5] -> (0)^2 + 0.5^2 + 0.5^2
    assert float(coverage_penalty(weights, steps)) == pytest.approx(0.5)
    masked = float(coverage_penalty(weights, steps, np.array([[True, True, False]])))
    assert masked == pytest.approx(0.25)


def test_attention_penalty_is_added_to_the_training_loss():
    model = caption.build(tiny(attention_penalty=1.0), vocab_size=12)
    images = np.zeros((2, 20, 56, 3), "float32")
    steps = np.array([[2, 5], [2, 6]], "int32")
    model.trainer([images, steps], training=True)
    assert len(model.trainer.losses) == 1 and float(model.trainer.losses[0]) > 0
    with pytest.raises(ConfigError, match="needs attention"):
        caption.build(tiny(attention="none", global_context="max", attention_penalty=1.0),
                      vocab_size=12)


def test_bad_encoder_configs_are_explained():
    with pytest.raises(ConfigError, match="leaves the decoder blind"):
        caption.build(tiny(attention="none", global_context="none"), vocab_size=12)
    with pytest.raises(ConfigError, match="filters must be positive integers"):
        caption.build(tiny(filters="8,x"), vocab_size=12)
    with pytest.raises(ConfigError, match="leave no grid"):
        caption.build(tiny(filters="4,4,4,4,4,4,4"), vocab_size=12)
