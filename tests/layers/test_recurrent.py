import itertools

import keras
import numpy as np
import pytest

from helpers import assert_layer_roundtrip
from seqtasks.config import RecurrentConfig
from seqtasks.errors import ConfigError
from seqtasks.layers.peephole import PeepholeLSTMCell
from seqtasks.layers.pooling import AttentionPooling, MaskedMaxPooling
from seqtasks.layers.recurrent import CELLS, recurrent_stack


def tiny_model(config: RecurrentConfig, return_sequences: bool) -> keras.Model:
    ids = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(20, 8, mask_zero=True)(ids)
    x = recurrent_stack(x, config, return_sequences=return_sequences)
    if return_sequences:
        x = MaskedMaxPooling()(x)
    return keras.Model(ids, keras.layers.Dense(2, activation="softmax")(x))


def every_cell_direction_and_depth():
    """Each cell alone by default; the combinations (the same builder code paths, combined:
    bidirectional, two deep) only in the slow run. Bidirectional stacks train in the default
    run through the sentiment and NER tests."""
    for cell, bidirectional, num_layers in itertools.product(CELLS, (False, True), (1, 2)):
        fast = (bidirectional, num_layers) == (False, 1)
        yield pytest.param(cell, bidirectional, num_layers,
                           marks=() if fast else pytest.mark.slow)


@pytest.mark.parametrize("cell, bidirectional, num_layers",
                         list(every_cell_direction_and_depth()))
def test_every_cell_direction_and_depth_builds_and_trains_a_step(cell, bidirectional, num_layers):
    keras.utils.set_random_seed(0)
    config = RecurrentConfig(cell=cell, units=4, bidirectional=bidirectional,
                             num_layers=num_layers, dropout=0.1)
    for return_sequences in (False, True):
        model = tiny_model(config, return_sequences)
        model.compile("adam", "sparse_categorical_crossentropy")
        x = np.array([[3, 4, 5, 0], [6, 7, 0, 0]], dtype="int32")
        before = [w.copy() for w in model.get_weights()]
        loss = model.train_on_batch(x, np.array([0, 1]))
        assert np.isfinite(loss)
        assert any(not np.allclose(a, b) for a, b in zip(before, model.get_weights()))


@pytest.mark.parametrize("cell", CELLS)
def test_padding_does_not_change_the_final_state(cell):
    keras.utils.set_random_seed(0)
    model = tiny_model(RecurrentConfig(cell=cell, units=4, bidirectional=True, dropout=0.0),
                       return_sequences=False)
    short = model.predict_on_batch(np.array([[3, 4, 5]], dtype="int32"))
    padded = model.predict_on_batch(np.array([[3, 4, 5, 0, 0, 0]], dtype="int32"))
    np.testing.assert_allclose(short, padded, atol=1e-6)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_lstm_and_gru_never_use_cudnn_so_exports_serve_on_cpu(cell):
    x = keras.Input((None, 4))
    y = recurrent_stack(x, RecurrentConfig(cell=cell, units=4, bidirectional=False), False)
    layers = [layer for layer in keras.Model(x, y).layers
              if isinstance(layer, (keras.layers.LSTM, keras.layers.GRU))]
    assert len(layers) == 1 and layers[0].use_cudnn is False


def test_peephole_cell_matches_hand_computation():
    cell = PeepholeLSTMCell(2)
    cell.build((None, 3))
    rng = np.random.default_rng(0)
    for weight in cell.weights:
        weight.assign(rng.normal(size=weight.shape).astype("float32"))
    x, h, c = (rng.normal(size=(1, n)).astype("float32") for n in (3, 2, 2))
    out, (h_new, c_new) = cell(x, [h, c])
    kernel, recurrent, peephole, bias = (keras.ops.convert_to_numpy(w) for w in
                                         (cell.kernel, cell.recurrent_kernel, cell.peephole,
                                          cell.bias))
    sigmoid = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    z = x @ kernel + h @ recurrent + bias
    z_i, z_f, z_c, z_o = np.split(z, 4, axis=-1)
    i = sigmoid(z_i + peephole[0] * c)
    f = sigmoid(z_f + peephole[1] * c)
    c_expected = f * c + i * np.tanh(z_c)
    o = sigmoid(z_o + peephole[2] * c_expected)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(c_new), c_expected, rtol=1e-5)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(h_new), o * np.tanh(c_expected),
                               rtol=1e-5)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(out), keras.ops.convert_to_numpy(h_new))


def test_peephole_rnn_round_trips(tmp_path):
    layer = keras.layers.RNN(PeepholeLSTMCell(3))
    assert_layer_roundtrip(layer, np.ones((2, 4, 5), dtype="float32"), tmp_path)


def test_pooling_layers_ignore_masked_steps():
    values = np.array([[[1.0, -1.0], [5.0, 9.0]]], dtype="float32")
    mask = np.array([[True, False]])
    np.testing.assert_allclose(MaskedMaxPooling()(values, mask=mask), [[1.0, -1.0]])
    np.testing.assert_allclose(AttentionPooling(4)(values, mask=mask), [[1.0, -1.0]], atol=1e-6)
    np.testing.assert_allclose(MaskedMaxPooling()(values, mask=np.array([[False, False]])),
                               [[0.0, 0.0]])


def test_attention_pooling_round_trips(tmp_path):
    assert_layer_roundtrip(AttentionPooling(4), np.ones((2, 3, 5), dtype="float32"), tmp_path)


def test_bad_depth_and_peephole_recurrent_dropout_are_config_errors():
    x = keras.Input((None, 4))
    with pytest.raises(ConfigError, match="num_layers must be >= 1"):
        recurrent_stack(x, RecurrentConfig(num_layers=0), False)
    with pytest.raises(ConfigError, match="recurrent_dropout is not supported"):
        recurrent_stack(x, RecurrentConfig(cell="peephole_lstm", recurrent_dropout=0.2), False)
