"""Character features of words: shapes, independence from batch padding, save/load."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from helpers import assert_layer_roundtrip
from seqtasks.layers.char_features import CharFeatures

WORDS = np.array([[[5, 6, 7, 0], [8, 0, 0, 0], [0, 0, 0, 0]],
                  [[9, 9, 9, 9], [0, 0, 0, 0], [0, 0, 0, 0]]], dtype="int32")


@pytest.mark.parametrize("encoder, width", [("cnn", 6), ("lstm", 12)])
def test_one_vector_per_word(encoder, width):
    keras.utils.set_random_seed(0)
    layer = CharFeatures(12, embedding_dim=4, units=6, encoder=encoder)
    out = keras.ops.convert_to_numpy(layer(WORDS))
    assert out.shape == (2, 3, width)
    assert layer.compute_output_shape((None, None, None)) == (None, None, width)


@pytest.mark.parametrize("encoder", ["cnn", "lstm"])
def test_padding_does_not_change_a_word(encoder):
    keras.utils.set_random_seed(0)
    layer = CharFeatures(12, embedding_dim=4, units=6, encoder=encoder)
    alone = keras.ops.convert_to_numpy(layer(WORDS[:1, :2, :3]))
    padded = keras.ops.convert_to_numpy(layer(np.pad(WORDS[:1, :2, :3], [(0, 0), (0, 2), (0, 5)])))
    np.testing.assert_allclose(padded[:, :2], alone, atol=1e-6)


def test_unknown_encoder():
    with pytest.raises(ValueError, match="Unknown char encoder 'gru'"):
        CharFeatures(12, encoder="gru")


@pytest.mark.parametrize("encoder", ["cnn", "lstm"])
def test_config_and_save_roundtrip(encoder, tmp_path):
    keras.utils.set_random_seed(0)
    layer = CharFeatures(12, embedding_dim=4, units=6, encoder=encoder, kernel_size=2)
    assert layer.get_config()["kernel_size"] == 2
    assert_layer_roundtrip(layer, WORDS, tmp_path)
