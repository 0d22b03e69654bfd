"""The LSTM's inference on right-padded batches (one BlockLSTM op per direction) against today's
inference loop (``fused_rnn``'s masked loop) and Keras' LSTM, with the same weights: outputs,
states and gradients, on every length pattern."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from seqtasks.layers import fused_rnn as fused_module
from seqtasks.layers.fused_rnn import FusedLSTM
from seqtasks.layers.right_padded_lstm import BLOCK_LSTM_MAX_BATCH, is_right_padded

BATCH, TIME, FEATURES, UNITS = 6, 9, 5, 4
TOLERANCE = 1e-5
LENGTHS = {"empty": [0] * BATCH, "one_token": [1] * BATCH, "max_length": [TIME] * BATCH,
           "mixed": [0, 1, TIME, 4, 7, 2]}


def right_padded_mask(lengths):
    return np.arange(TIME)[None, :] < np.array(lengths)[:, None]


def weighted_layer(layer):
    layer.build((None, TIME, FEATURES))
    rng = np.random.default_rng(3)
    layer.set_weights([rng.normal(scale=0.6, size=w.shape).astype("float32")
                       for w in layer.get_weights()])
    return layer


def run(layer, x, mask, states=None, today=False, monkeypatch=None):
    """Outputs of ``layer`` at inference (a fresh graph); ``today`` traces it with the masked
    loop that served before the BlockLSTM path."""
    if today:
        monkeypatch.setattr(fused_module, "fused_rnn", fused_module._masked_loop)
    try:
        out = tf.function(lambda x: layer(x, mask=tf.constant(mask), initial_state=states,
                                          training=False))(x)
    finally:
        if today:
            monkeypatch.undo()
    return [o.numpy() for o in (out if isinstance(out, (list, tuple)) else [out])]


def assert_close(got, want):
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, atol=TOLERANCE, rtol=0)


@pytest.mark.parametrize("pattern", list(LENGTHS))
@pytest.mark.parametrize("options", [
    {"return_sequences": True, "return_state": True},
    {"return_sequences": False, "return_state": True},
    {"return_sequences": True, "go_backwards": True, "return_state": True},
    {"return_sequences": True, "zero_output_for_mask": True, "return_state": True},
], ids=["sequences", "last", "backwards", "zero_output"])
def test_same_outputs_and_states_as_todays_loop_and_keras(pattern, options, monkeypatch):
    fused = weighted_layer(FusedLSTM(UNITS, **options))
    reference = keras.layers.LSTM(UNITS, use_cudnn=False, **options)
    reference.build((None, TIME, FEATURES))
    reference.set_weights(fused.get_weights())
    x = np.random.default_rng(0).normal(size=(BATCH, TIME, FEATURES)).astype("float32")
    states = [np.random.default_rng(s).normal(size=(BATCH, UNITS)).astype("float32")
              for s in (1, 2)]
    mask = right_padded_mask(LENGTHS[pattern])
    got = run(fused, x, mask, states)
    assert_close(got, run(fused, x, mask, states, today=True, monkeypatch=monkeypatch))
    assert_close(got, run(reference, x, mask, states))


@pytest.mark.parametrize("pattern", list(LENGTHS))
def test_bidirectional_matches_todays_loop(pattern, monkeypatch):
    layer = weighted_layer(keras.layers.Bidirectional(FusedLSTM(UNITS, return_sequences=True)))
    x = np.random.default_rng(5).normal(size=(BATCH, TIME, FEATURES)).astype("float32")
    mask = right_padded_mask(LENGTHS[pattern])
    got = run(layer, x, mask)
    assert_close(got, run(layer, x, mask, today=True, monkeypatch=monkeypatch))


def test_the_right_padded_graph_runs_block_lstm_and_other_masks_the_loop():
    layer = weighted_layer(FusedLSTM(UNITS, return_sequences=True))
    graph = tf.function(lambda x, m: layer(x, mask=m, training=False)).get_concrete_function(
        tf.TensorSpec([None, None, FEATURES]), tf.TensorSpec([None, None], tf.bool)).graph
    types = {node.op for node in graph.as_graph_def().node}
    types |= {node.op for f in graph.as_graph_def().library.function for node in f.node_def}
    assert "BlockLSTM" in types and types & {"While", "StatelessWhile"}  # both, by the mask
    mask = right_padded_mask(LENGTHS["mixed"])
    holes = mask.copy()
    holes[2, 3] = False  # a hole: not right-padded
    lengths = tf.reduce_sum(tf.cast(mask, tf.int32), axis=1)
    assert bool(is_right_padded(tf.constant(mask), lengths))
    assert not bool(is_right_padded(tf.constant(holes), lengths - [0, 0, 1, 0, 0, 0]))
    left = mask[:, ::-1].copy()  # left padding
    assert not bool(is_right_padded(tf.constant(left), lengths))


def test_a_batch_of_no_steps_keeps_the_initial_state():
    layer = weighted_layer(FusedLSTM(UNITS, return_sequences=True, return_state=True))
    states = [np.full((BATCH, UNITS), 0.5, "float32"), np.full((BATCH, UNITS), -0.5, "float32")]
    run_empty = tf.function(lambda x: layer(x, mask=tf.zeros([BATCH, 0], tf.bool),
                                            initial_state=states, training=False),
                            input_signature=[tf.TensorSpec((BATCH, None, FEATURES))])
    outputs, h, c = run_empty(tf.zeros((BATCH, 0, FEATURES)))
    assert outputs.shape == (BATCH, 0, UNITS)
    np.testing.assert_allclose(h.numpy(), states[0])
    np.testing.assert_allclose(c.numpy(), states[1])


@pytest.mark.parametrize("pattern", ["mixed", "max_length"])
def test_gradients_through_inference_match_todays_loop(pattern, monkeypatch):
    """``seqtasks diagnose`` differentiates the model at inference: BlockLSTM's gradient."""
    layer = weighted_layer(keras.layers.Bidirectional(FusedLSTM(UNITS, return_sequences=True)))
    x = tf.constant(np.random.default_rng(6).normal(size=(BATCH, TIME, FEATURES)), tf.float32)
    mask = tf.constant(right_padded_mask(LENGTHS[pattern]))

    def gradients(today):
        if today:
            monkeypatch.setattr(fused_module, "fused_rnn", fused_module._masked_loop)

        @tf.function
        def grad():
            with tf.GradientTape() as tape:
                tape.watch(x)
                out = layer(x, mask=mask, training=False)
                # Weights differ per position so every output element matters separately.
                loss = tf.reduce_sum(tf.sin(out) * tf.random.stateless_uniform(
                    tf.shape(out), seed=[3, 7], minval=-1.0))
            return tape.gradient(loss, [x] + layer.trainable_variables)

        result = [g.numpy() for g in grad()]
        monkeypatch.undo()
        return result

    assert_close(gradients(today=False), gradients(today=True))


def test_a_batch_past_the_block_limit_runs_the_loop_with_the_same_outputs(monkeypatch):
    """Above BLOCK_LSTM_MAX_BATCH rows the loop runs (forced here on a small batch, the
    other way round: BlockLSTM everywhere gives the same numbers as the loop)."""
    layer = weighted_layer(keras.layers.Bidirectional(FusedLSTM(UNITS, return_sequences=True)))
    rows = BLOCK_LSTM_MAX_BATCH + 3
    rng = np.random.default_rng(8)
    x = rng.normal(size=(rows, TIME, FEATURES)).astype("float32")
    mask = np.arange(TIME)[None, :] < rng.integers(0, TIME + 1, rows)[:, None]
    looped = tf.function(lambda x: layer(x, mask=tf.constant(mask), training=False))(x).numpy()
    monkeypatch.setattr(fused_module, "BLOCK_LSTM_MAX_BATCH", 10 ** 6)
    blocked = tf.function(lambda x: layer(x, mask=tf.constant(mask), training=False))(x).numpy()
    np.testing.assert_allclose(blocked, looped, atol=TOLERANCE, rtol=0)
