"""The projected-input layers compute exactly what the Keras layers they replace compute."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from seqtasks.layers.peephole import PeepholeLSTMCell
from seqtasks.layers.projected_rnn import (ProjectedGRU, ProjectedLSTM, ProjectedPeepholeLSTM,
                                           ProjectedSimpleRNN)

PAIRS = {
    "lstm": (lambda **kw: keras.layers.LSTM(5, use_cudnn=False, **kw),
             lambda **kw: ProjectedLSTM(5, **kw), 2),
    "gru": (lambda **kw: keras.layers.GRU(5, use_cudnn=False, **kw),
            lambda **kw: ProjectedGRU(5, **kw), 1),
    "rnn": (lambda **kw: keras.layers.SimpleRNN(5, **kw),
            lambda **kw: ProjectedSimpleRNN(5, **kw), 1),
    "peephole_lstm": (lambda **kw: keras.layers.RNN(PeepholeLSTMCell(5), **kw),
                      lambda **kw: ProjectedPeepholeLSTM(5, **kw), 2),
}
X = np.random.default_rng(0).normal(size=(3, 6, 4)).astype("float32")
MASK = np.array([[1] * 6, [1] * 3 + [0] * 3, [1] + [0] * 5], bool)


@pytest.mark.parametrize("cell", PAIRS)
@pytest.mark.parametrize("go_backwards", [False, True])
def test_outputs_states_and_gradients_match_keras(cell, go_backwards):
    make_keras, make_ours, n_states = PAIRS[cell]
    kwargs = dict(return_sequences=True, return_state=True, go_backwards=go_backwards)
    reference, ours = make_keras(**kwargs), make_ours(**kwargs)
    keras.utils.set_random_seed(1)
    initial = [tf.constant(np.random.default_rng(i).normal(size=(3, 5)), tf.float32)
               for i in range(n_states)]
    reference(X, initial_state=initial, mask=MASK)
    ours(X, initial_state=initial, mask=MASK)
    ours.set_weights(reference.get_weights())
    results = []
    for layer in (reference, ours):
        x = tf.constant(X)
        with tf.GradientTape() as tape:
            tape.watch(x)
            out = layer(x, initial_state=initial, mask=MASK)
            loss = sum(tf.reduce_sum(tf.sin(o)) for o in out)
        results.append([o.numpy() for o in out] +
                       [g.numpy() for g in tape.gradient(loss, [x, *layer.trainable_weights])])
    for expected, actual in zip(*results):
        np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("cell", PAIRS)
def test_bidirectional_rebuilds_the_backward_copy_from_config(cell):
    layer = keras.layers.Bidirectional(PAIRS[cell][1](return_sequences=True))
    out = layer(X, mask=MASK)
    assert out.shape == (3, 6, 10)
    assert type(layer.backward_layer) is type(layer.forward_layer)
    assert layer.backward_layer.go_backwards


def test_training_with_recurrent_dropout_uses_the_keras_loop():
    layer = ProjectedLSTM(5, recurrent_dropout=0.5, return_sequences=True)
    out_train = layer(X, training=True).numpy()
    out_infer = layer(X, training=False).numpy()
    assert out_train.shape == out_infer.shape == (3, 6, 5)
    assert not np.allclose(out_train, out_infer)  # the dropout masks were applied
