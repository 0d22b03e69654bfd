import keras
import numpy as np

from helpers import assert_layer_roundtrip
from seqtasks.layers.embedding import TiedEmbedding


def test_forward_embeds_and_reverse_scores_with_the_same_matrix(tmp_path):
    keras.utils.set_random_seed(0)
    layer = TiedEmbedding(7, 3)
    ids = np.array([[1, 2, 0]], dtype="int32")
    vectors = keras.ops.convert_to_numpy(layer(ids))
    matrix = keras.ops.convert_to_numpy(layer.embeddings)
    np.testing.assert_allclose(vectors[0], matrix[[1, 2, 0]])
    layer.output_bias.assign(np.arange(7, dtype="float32"))
    logits = keras.ops.convert_to_numpy(layer(vectors, reverse=True))
    np.testing.assert_allclose(logits, vectors @ matrix.T + np.arange(7), rtol=1e-5)
    assert len(layer.trainable_weights) == 2
    assert_layer_roundtrip(layer, ids, tmp_path)


def test_a_model_calling_it_both_ways_saves_and_reloads(tmp_path):
    ids = keras.Input((None,), dtype="int32")
    embedding = TiedEmbedding(9, 4)
    hidden = keras.layers.GRU(4, return_sequences=True)(embedding(ids))
    model = keras.Model(ids, embedding(hidden, reverse=True))
    x = np.array([[3, 1, 4, 1]], dtype="int32")
    assert model.predict_on_batch(x).shape == (1, 4, 9)
    model.save(tmp_path / "tied.keras")
    np.testing.assert_allclose(keras.saving.load_model(tmp_path / "tied.keras").predict_on_batch(x),
                               model.predict_on_batch(x), atol=1e-6)
