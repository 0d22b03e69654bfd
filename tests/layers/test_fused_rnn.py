"""FusedLSTM / FusedGRU (projected forward loop, own backward pass) against keras.layers.LSTM /
GRU with the same weights: outputs, states and every gradient."""

import json
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from helpers import ROOT
from seqtasks.export.savedmodel import op_types as saved_op_types
from seqtasks.config import RecurrentConfig
from seqtasks.errors import ConfigError
from seqtasks.export.savedmodel import export_savedmodel
from seqtasks.layers.fused_rnn import FusedGRU, FusedLSTM
from seqtasks.layers.projected_rnn import ProjectedGRU, ProjectedLSTM, ProjectedSimpleRNN
from seqtasks.layers.recurrent import recurrent_layer, recurrent_stack

BATCH, TIME, FEATURES, UNITS = 5, 7, 3, 4
TOLERANCE = 1e-5


def masks():
    right = np.ones((BATCH, TIME), bool)
    right[1, 4:] = False   # right padding
    right[3, 1:] = False   # one step
    holes = right.copy()
    holes[0, [0, 3]] = False  # masked steps before and between unmasked ones
    holes[2, :] = False       # nothing at all
    return {"none": None, "right_padding": right, "holes_and_empty_row": holes}


PAIRS = {"lstm": (keras.layers.LSTM, FusedLSTM), "gru": (keras.layers.GRU, FusedGRU)}
STATES = {"lstm": 2, "gru": 1}


def paired(cell, wrap=lambda layer: layer, **options):
    """(keras.layers.LSTM / GRU, FusedLSTM / FusedGRU) built with the same random weights."""
    keras_class, fused_class = PAIRS[cell]
    reference = wrap(keras_class(UNITS, use_cudnn=False, **options))
    fused = wrap(fused_class(UNITS, **options))
    for layer in (reference, fused):
        layer.build((None, TIME, FEATURES))
    rng = np.random.default_rng(1)
    weights = [rng.normal(scale=0.6, size=w.shape).astype("float32")
               for w in reference.get_weights()]
    reference.set_weights(weights)
    fused.set_weights(weights)
    return reference, fused


def random_states(cell, seed):
    """An initial state for ``cell``: [h, c] or [h], normal random [BATCH, UNITS]."""
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(BATCH, UNITS)).astype("float32") for _ in range(STATES[cell])]


def outputs_and_gradients(layer, x, mask, initial_state, training=True):
    """Every output of ``layer`` and the gradients of a loss on all of them (graph mode).

    ``training=True`` runs FusedLSTM's own backward pass; without it TensorFlow differentiates
    its inference loop."""
    @tf.function
    def run(x, *states):
        with tf.GradientTape() as tape:
            tape.watch([x, *states])
            state = None if initial_state is None else list(states)
            out = layer(x, mask=mask, initial_state=state, training=training)
            out = list(out) if isinstance(out, (list, tuple)) else [out]
            # Weights differ per position so every output element matters separately.
            loss = sum(tf.reduce_sum(tf.sin(o) * tf.random.stateless_uniform(
                tf.shape(o), seed=[index, 7], minval=-1.0)) for index, o in enumerate(out))
        sources = [x, *states] + layer.trainable_variables
        return out, tape.gradient(loss, sources, unconnected_gradients="zero")

    # Without an initial state, one unused zero state keeps the function's signature.
    states = initial_state if initial_state is not None else [np.zeros((BATCH, UNITS), "float32")]
    return run(tf.constant(x), *map(tf.constant, states))


def assert_same(reference, fused, mask=None, initial_state=None, training=True):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(BATCH, TIME, FEATURES)).astype("float32")
    expected_out, expected_grads = outputs_and_gradients(reference, x, mask, initial_state,
                                                         training)
    out, grads = outputs_and_gradients(fused, x, mask, initial_state, training)
    assert len(out) == len(expected_out) and len(grads) == len(expected_grads)
    for got, want in zip(out, expected_out):
        np.testing.assert_allclose(got.numpy(), want.numpy(), atol=TOLERANCE, rtol=0)
    for got, want in zip(grads, expected_grads):
        np.testing.assert_allclose(got.numpy(), want.numpy(), atol=TOLERANCE, rtol=0)


# Right padding alone is a subset of holes_and_empty_row (which pads the same rows): slow run only.
@pytest.mark.parametrize("mask_name", [
    pytest.param(name, marks=pytest.mark.slow if name == "right_padding" else ())
    for name in masks()])
@pytest.mark.parametrize("options", [
    {"return_sequences": True, "return_state": True},
    {"return_sequences": False, "return_state": True},
    {"return_sequences": True, "go_backwards": True, "return_state": True},
    {"return_sequences": True, "zero_output_for_mask": True},
], ids=["sequences", "last", "backwards", "zero_output"])
@pytest.mark.parametrize("cell", list(PAIRS))
def test_outputs_states_and_gradients_match_keras(cell, options, mask_name):
    reference, fused = paired(cell, **options)
    assert_same(reference, fused, masks()[mask_name])


@pytest.mark.parametrize("mask_name", list(masks()))
@pytest.mark.parametrize("cell", list(PAIRS))
def test_the_inference_loop_matches_keras(cell, mask_name):
    reference, fused = paired(cell, return_sequences=True, return_state=True)
    assert_same(reference, fused, masks()[mask_name], training=False)


@pytest.mark.parametrize("mask_name", ["none", "holes_and_empty_row"])
@pytest.mark.parametrize("cell", list(PAIRS))
def test_initial_state_matches_keras(cell, mask_name):
    reference, fused = paired(cell, return_sequences=True, return_state=True)
    state = random_states(cell, seed=2)
    assert_same(reference, fused, masks()[mask_name], initial_state=state)


@pytest.mark.parametrize("return_sequences", [True, False])
@pytest.mark.parametrize("cell", list(PAIRS))
def test_bidirectional_matches_keras(cell, return_sequences):
    reference, fused = paired(cell, keras.layers.Bidirectional, return_sequences=return_sequences)
    assert_same(reference, fused, masks()["right_padding"])


def graph_op_types(graph) -> set[str]:
    """Op types in a traced graph and every function it calls (loop bodies, gradients)."""
    graph_def = graph.as_graph_def()
    types = {node.op for node in graph_def.node}
    for function in graph_def.library.function:
        types |= {node.op for node in function.node_def}
    return types


@pytest.mark.parametrize("cell", list(PAIRS))
def test_the_backward_pass_is_ours_and_weights_keep_keras_layout(cell):
    layer = PAIRS[cell][1](UNITS)
    layer.build((None, None, FEATURES))

    @tf.function(input_signature=[tf.TensorSpec([None, None, FEATURES])])
    def gradients(x):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(layer(x, training=True))
        return tape.gradient(loss, layer.trainable_variables)

    types = graph_op_types(gradients.get_concrete_function().graph)
    assert ("LSTMBlockCellGrad" in types) == (cell == "lstm")
    # The weight gradients are products after the loops, not TensorFlow's per-step accumulation
    # of a differentiated While loop (which needs TensorList accumulators of every step).
    assert not {"TensorListPushBack", "TensorListPopBack"} & types
    assert [w.path.split("/")[-1] for w in layer.weights] == ["kernel", "recurrent_kernel", "bias"]
    assert layer.cell.kernel.shape == (FEATURES, {"lstm": 4, "gru": 3}[cell] * UNITS)


def test_what_the_fused_op_cannot_do_falls_back_to_the_keras_loop():
    x = tf.random.normal((BATCH, TIME, FEATURES), seed=3)
    relu = FusedLSTM(UNITS, activation="relu")
    relu(x)
    assert not relu.fused_applies(x, training=False)
    reference = keras.layers.LSTM(UNITS, activation="relu", use_cudnn=False)
    reference(x)
    reference.set_weights(relu.get_weights())
    np.testing.assert_allclose(relu(x).numpy(), reference(x).numpy(), atol=TOLERANCE)
    assert not relu.fused_applies(x[:, :1], training=False)  # one step: nothing to fuse
    dropped = FusedLSTM(UNITS, recurrent_dropout=0.5)
    dropped(x)
    assert dropped.fused_applies(x, training=False) and not dropped.fused_applies(x, True)


def test_the_factory_selects_the_kernel():
    assert type(recurrent_layer("lstm", 3, True, kernel="fused")) is FusedLSTM
    assert type(recurrent_layer("lstm", 3, True, kernel="keras")) is ProjectedLSTM
    assert type(recurrent_layer("gru", 3, True, kernel="fused")) is FusedGRU
    assert type(recurrent_layer("gru", 3, True, kernel="keras")) is ProjectedGRU
    assert type(recurrent_layer("lstm", 3, True, kernel="auto")) is FusedLSTM
    assert type(recurrent_layer("gru", 3, True, kernel="auto")) is FusedGRU
    assert type(recurrent_layer("rnn", 3, True, kernel="auto")) is ProjectedSimpleRNN
    with pytest.raises(ConfigError, match="rnn_kernel=fused exists for cell=lstm, gru only"):
        recurrent_layer("rnn", 3, True, kernel="fused")
    with pytest.raises(ConfigError, match="Unknown rnn_kernel 'cudnn'"):
        recurrent_layer("lstm", 3, True, kernel="cudnn")
    x = keras.Input((None, FEATURES))
    model = keras.Model(x, recurrent_stack(x, RecurrentConfig(rnn_kernel="fused", units=3), True))
    bidirectional = [layer for layer in model.layers
                     if isinstance(layer, keras.layers.Bidirectional)]
    assert type(bidirectional[0].forward_layer) is FusedLSTM


SERVE = """
import json, sys
import numpy as np
import tensorflow as tf
serve = tf.saved_model.load(sys.argv[1]).signatures["serving_default"]
ids = tf.constant(json.loads(sys.argv[2]), tf.int32)
print(json.dumps(serve(token_ids=ids)["probabilities"].numpy().tolist()))
"""


@pytest.mark.slow  # 11 s; tests/export/test_serving_graph.py checks the ops of an export in the default run
def test_export_serves_the_same_numbers_in_a_fresh_process_without_cudnn_ops(tmp_path):
    keras.utils.set_random_seed(0)
    token_ids = keras.Input((None,), dtype="int32", name="token_ids")
    x = keras.layers.Embedding(20, 6, mask_zero=True)(token_ids)
    x = keras.layers.Bidirectional(FusedLSTM(UNITS, return_sequences=True))(x)
    x = keras.layers.Bidirectional(FusedGRU(UNITS, return_sequences=True))(x)
    x = FusedLSTM(UNITS, go_backwards=True)(x)
    model = keras.Model(token_ids, keras.layers.Dense(3, activation="softmax")(x))

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.int32, name="token_ids")])
    def classify(ids):
        return {"probabilities": model(ids, training=False)}

    export = export_savedmodel(tmp_path / "model", model, [], {"serving_default": classify},
                               {"task": "test"})
    ids = [[3, 4, 5, 0, 0], [7, 1, 2, 9, 11], [5, 0, 0, 0, 0]]
    expected = model.predict_on_batch(np.array(ids, "int32"))
    served = subprocess.run([sys.executable, "-c", SERVE, str(export), json.dumps(ids)],
                            capture_output=True, text=True, cwd=ROOT, timeout=120,
                            env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"})
    assert served.returncode == 0, served.stderr[-2000:]
    np.testing.assert_allclose(json.loads(served.stdout.strip().splitlines()[-1]), expected,
                               atol=1e-6)
    types = saved_op_types(export)
    assert not [t for t in types if t.startswith("CudnnRNN")]


def test_a_model_with_the_fused_kernel_stays_off_xla():
    x = keras.Input((None, FEATURES))
    model = keras.Model(x, FusedLSTM(UNITS)(x))
    model.compile(optimizer="sgd", loss="mse", jit_compile="auto")
    assert model.jit_compile is False


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("cell", list(PAIRS))
def test_a_batch_with_no_unmasked_step_gives_the_initial_state(cell, training):
    reference, fused = paired(cell, return_sequences=True, return_state=True)
    state = random_states(cell, seed=4)
    assert_same(reference, fused, np.zeros((BATCH, TIME), bool), initial_state=state,
                training=training)


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("cell", list(PAIRS))
def test_a_batch_of_no_steps_keeps_the_initial_state(cell, training):
    reference, fused = paired(cell, return_sequences=True, return_state=True)
    state = random_states(cell, seed=5)
    empty = tf.zeros((BATCH, 0, FEATURES))  # traced with an unknown length, as prompts are

    def run(layer):
        return tf.function(lambda x: layer(x, initial_state=state, training=training),
                           input_signature=[tf.TensorSpec((BATCH, None, FEATURES))])(empty)

    expected, got = run(reference), run(fused)
    assert got[0].shape == expected[0].shape == (BATCH, 0, UNITS)
    for got_state, want in zip(got[1:], state):
        np.testing.assert_allclose(got_state.numpy(), want, atol=TOLERANCE)


@pytest.mark.parametrize("cell", list(PAIRS))
def test_static_shapes_pass_through(cell):
    fused = PAIRS[cell][1](UNITS, return_sequences=True)  # stacked layers need the time axis
    traced = tf.function(lambda x: fused(x, training=True)).get_concrete_function(
        tf.TensorSpec((BATCH, TIME, FEATURES)))
    assert traced.structured_outputs.shape == (BATCH, TIME, UNITS)
