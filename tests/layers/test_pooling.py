import keras
import numpy as np

from helpers import assert_layer_roundtrip
from seqtasks.layers.pooling import FinalStatePooling


def test_final_state_of_forward_and_bidirectional_outputs():
    outputs = np.arange(2 * 4 * 4, dtype="float32").reshape(2, 4, 4)
    mask = np.array([[True, True, True, False], [True, False, False, False]])
    forward = keras.ops.convert_to_numpy(FinalStatePooling()(outputs, mask=mask))
    np.testing.assert_array_equal(forward, [outputs[0, 2], outputs[1, 0]])
    both = keras.ops.convert_to_numpy(FinalStatePooling(bidirectional=True)(outputs, mask=mask))
    np.testing.assert_array_equal(both[0], np.concatenate([outputs[0, 2, :2], outputs[0, 0, 2:]]))
    np.testing.assert_array_equal(both[1], outputs[1, 0])
    empty = FinalStatePooling()(outputs, mask=np.zeros((2, 4), bool))
    np.testing.assert_array_equal(empty, np.zeros((2, 4)))
    np.testing.assert_array_equal(FinalStatePooling()(outputs), outputs[:, -1])


def test_matches_the_final_state_of_a_masked_bidirectional_gru():
    keras.utils.set_random_seed(0)
    ids = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(9, 4, mask_zero=True)(ids)
    layer = keras.layers.Bidirectional(keras.layers.GRU(3, return_sequences=True,
                                                        return_state=True))
    sequences, forward_h, backward_h = layer(x)
    pooled = FinalStatePooling(bidirectional=True)(sequences)
    model = keras.Model(ids, [pooled, keras.ops.concatenate([forward_h, backward_h], -1)])
    got, expected = model.predict_on_batch(np.array([[3, 4, 5, 0], [6, 0, 0, 0]], "int32"))
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_round_trips(tmp_path):
    assert_layer_roundtrip(FinalStatePooling(bidirectional=True),
                           np.ones((2, 3, 4), dtype="float32"), tmp_path)
