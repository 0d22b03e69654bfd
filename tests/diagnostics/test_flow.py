import keras
import numpy as np
import pytest

from seqtasks.diagnostics.flow import recurrent_layers, state_gradient_norms


def linear_rnn(recurrent, steps, units=2):
    """h_t = x_t U + h_{t-1} W (no bias, no activation); output h_T."""
    inputs = keras.Input((steps, 1))
    layer = keras.layers.SimpleRNN(units, activation=None, use_bias=False, name="rnn")
    model = keras.Model(inputs, layer(inputs))
    layer.cell.kernel.assign(np.ones((1, units), "float32"))
    layer.cell.recurrent_kernel.assign(recurrent)
    return model


def test_linear_rnn_matches_analytic_gradient():
    steps = 6
    w = np.array([[0.9, 0.3], [-0.2, 0.5]], dtype="float32")
    model = linear_rnn(w, steps)
    x = np.random.default_rng(0).normal(size=(3, steps, 1)).astype("float32")
    norms = state_gradient_norms(model, x, lambda h: keras.ops.sum(h) / 3)
    # loss = mean over the batch of sum(h_T): dloss/dh_T = 1/3 per row; dh_t/dh_{t-1} = W, so
    # dloss/dh_t = (1/3) 1 (W^T)^(T-t) for each of the 3 rows (mean of the row norms).
    expected = [np.linalg.norm(np.ones(2) @ np.linalg.matrix_power(w.T, steps - 1 - t)) / 3
                for t in range(steps)]
    np.testing.assert_allclose(norms, expected, rtol=1e-5)


def test_masked_steps_and_bidirectional_forward_half():
    keras.utils.set_random_seed(1)
    ids = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(10, 4, mask_zero=True)(ids)
    x = keras.layers.Bidirectional(keras.layers.GRU(3, name="gru"), name="bi")(x)
    model = keras.Model(ids, keras.layers.Dense(1)(x))
    (forward,) = recurrent_layers(model)
    assert forward.name.startswith("forward")
    batch = np.array([[1, 2, 3, 0, 0], [4, 5, 6, 7, 8]], dtype="int32")
    reference = model.predict_on_batch(batch)
    outputs = []
    norms = state_gradient_norms(model, batch, lambda y: (outputs.append(y), keras.ops.sum(y))[1])
    np.testing.assert_allclose(outputs[0], reference, rtol=1e-5, atol=1e-6)  # same function
    assert norms.shape == (5,) and np.all(norms > 0)
    assert "call" not in vars(forward)  # the layer's own call is back


def test_no_recurrent_layer_is_an_error():
    from seqtasks.errors import ModelError

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    with pytest.raises(ModelError, match="no recurrent layer"):
        state_gradient_norms(model, np.zeros((1, 3), "float32"), keras.ops.sum)


def test_export_diagnosis_restores_the_trained_model(sentiment_export, tmp_path):
    import seqtasks
    from helpers import DATA
    from pipelines import sentiment
    from pipelines.cli.main import main
    from seqtasks.data.labelled import read_labelled
    from seqtasks.diagnostics.flow import flow_before_and_after, restore_weights

    export_dir, config = sentiment_export
    probe = sentiment.TASK.gradient_probe(export_dir, DATA / "sentiment" / "valid.tsv", batch_size=8)
    model = probe.build()
    restore_weights(model, export_dir)
    predictor = seqtasks.load(export_dir)
    rows = predictor.predict(read_labelled(DATA / "sentiment" / "valid.tsv").texts[:8])
    exported = [row["probabilities"] for row in rows]
    np.testing.assert_allclose(model.predict_on_batch(probe.inputs), exported, rtol=1e-4,
                               atol=1e-6)
    curves = flow_before_and_after(probe, export_dir)
    assert curves["trained"].shape == curves["initialisation"].shape == (probe.inputs.shape[1],)
    assert not np.allclose(curves["trained"], curves["initialisation"])

    png = tmp_path / "flow.png"  # through the CLI's main in process (a process: a TF import)
    assert main(["diagnose", str(export_dir.parent), "--out", str(png), "--batch-size", "4"]) == 0
    assert png.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("cell", ["rnn", "lstm", "peephole_lstm", "gru"])
def test_stepping_every_cell_of_the_builder_gives_the_layer_output(cell):
    from seqtasks.layers.recurrent import recurrent_layer

    keras.utils.set_random_seed(2)
    inputs = keras.Input((5, 2))
    model = keras.Model(inputs, recurrent_layer(cell, 3, return_sequences=False)(inputs))
    x = np.random.default_rng(2).uniform(size=(2, 5, 2)).astype("float32")
    outputs = []
    norms = state_gradient_norms(model, x, lambda y: (outputs.append(y), keras.ops.sum(y))[1])
    np.testing.assert_allclose(outputs[0], model.predict_on_batch(x), rtol=1e-5, atol=1e-6)
    assert norms[-1] == pytest.approx(np.sqrt(3))  # dsum(h_T)/dh_T = ones(3) per row
