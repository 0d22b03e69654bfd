"""recurrent_stack with given initial states and returned final states (language models)."""

import keras
import numpy as np
import pytest

from seqtasks.config import RecurrentConfig
from seqtasks.errors import ConfigError
from seqtasks.layers.recurrent import CELLS, recurrent_stack, state_sizes


def stateful_model(config):
    ids = keras.Input((None,), dtype="int32")
    states = [keras.Input((size,)) for size in state_sizes(config)]
    x = keras.layers.Embedding(10, 3)(ids)
    x, final = recurrent_stack(x, config, return_sequences=True, initial_state=states,
                               return_state=True, mask=keras.ops.not_equal(ids, 0))
    return keras.Model([ids, *states], [x, *final])


@pytest.mark.parametrize("cell", CELLS)
def test_two_halves_from_the_carried_state_equal_one_pass(cell):
    keras.utils.set_random_seed(0)
    config = RecurrentConfig(cell=cell, units=4, num_layers=2, bidirectional=False, dropout=0.0)
    model = stateful_model(config)
    assert len(model.inputs) - 1 == len(state_sizes(config)) == (
        4 if cell in ("lstm", "peephole_lstm") else 2)
    ids = np.array([[3, 4, 5, 6, 7, 8]], dtype="int32")
    zeros = [np.zeros((1, 4), "float32") for _ in state_sizes(config)]
    whole, *final = model.predict_on_batch([ids, *zeros])
    first, *middle = model.predict_on_batch([ids[:, :2], *zeros])
    second, *end = model.predict_on_batch([ids[:, 2:], *middle])
    np.testing.assert_allclose(np.concatenate([first, second], axis=1), whole, atol=1e-5)
    for a, b in zip(end, final):
        np.testing.assert_allclose(a, b, atol=1e-5)
    # Padding after the text leaves the final state where the text ended.
    _, *padded = model.predict_on_batch([np.pad(ids, [[0, 0], [0, 3]]), *zeros])
    for a, b in zip(padded, final):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_carrying_state_needs_a_unidirectional_stack():
    x = keras.Input((None, 3))
    with pytest.raises(ConfigError, match="unidirectional"):
        recurrent_stack(x, RecurrentConfig(bidirectional=True), True, return_state=True)
