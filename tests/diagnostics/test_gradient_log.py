import csv

import keras
import numpy as np
import pytest
import tensorflow as tf

from seqtasks.config import TrainConfig
from seqtasks.errors import TrainingError
from seqtasks.training.fit import fit
from seqtasks.training.optimizers import make_optimizer


def tiny_data(n=16, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype("float32")
    y = (x @ rng.normal(size=(4, 1))).astype("float32") * 3.0
    return x, y


def two_layer_model(clipnorm):
    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(5, activation="tanh",
                              name="hidden"), keras.layers.Dense(1, name="out")])
    model.compile(make_optimizer("sgd", 0.01, clipnorm), "mse")
    return model


def read_rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("clipnorm", [0.5, 1e6])
def test_logged_norms_match_independent_gradients(tmp_path, clipnorm):
    x, y = tiny_data()
    model = two_layer_model(clipnorm)
    with tf.GradientTape() as tape:  # gradients at the initial weights, computed independently
        loss = keras.losses.MeanSquaredError()(y, model(x))
    grads = tape.gradient(loss, model.trainable_variables)
    expected = {v.path.rsplit("/", 1)[0]: 0.0 for v in model.trainable_variables}
    for g, v in zip(grads, model.trainable_variables):
        expected[v.path.rsplit("/", 1)[0]] += float(np.sum(g.numpy() ** 2))
    total = np.sqrt(sum(expected.values()))

    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
    summary = fit(model, data, data, TrainConfig(epochs=2, grad_diagnostics=True),
                  tmp_path / "resume", tmp_path / "logs", verbose=0)
    rows = read_rows(summary["gradients_csv"])
    assert [int(r["step"]) for r in rows] == [1, 2]
    first = rows[0]
    assert float(first["global_norm"]) == pytest.approx(total, rel=1e-5)
    for layer, squared in expected.items():
        assert float(first[f"norm/{layer}"]) == pytest.approx(np.sqrt(squared), rel=1e-5)
    assert first["clipped"] == ("1" if total > clipnorm else "0")
    assert total > 0.5  # the small clipnorm really clips
    assert (tmp_path / "logs" / "gradients").is_dir()  # TensorBoard events
    assert "apply" not in vars(model.optimizer)  # hook removed after training


class SquareRoot(keras.layers.Layer):
    """sqrt(w) * x with w = 0: finite output, infinite gradient."""

    def build(self, input_shape):
        self.w = self.add_weight(shape=(), initializer="zeros", name="w")

    def call(self, x):
        return keras.ops.sqrt(self.w) * x


def test_non_finite_gradient_names_step_and_layer(tmp_path):
    x, y = tiny_data()
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, name="dense"),
                              SquareRoot(name="root")])
    model.compile(make_optimizer("sgd", 0.01, None), "mse")
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
    with pytest.raises(TrainingError, match=r"step 1 .*in layer '\S*root'"):
        fit(model, data, data, TrainConfig(epochs=1, clipnorm=None, grad_diagnostics=True),
            tmp_path / "resume", tmp_path / "logs", verbose=0)


def test_off_by_default_writes_nothing(tmp_path):
    x, y = tiny_data()
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(8)
    summary = fit(two_layer_model(1.0), data, data, TrainConfig(epochs=1), tmp_path / "r",
                  tmp_path / "logs", verbose=0)
    assert "gradients_csv" not in summary
    assert not (tmp_path / "logs" / "gradients.csv").exists()


def test_torn_last_line_is_cut_before_appending(tmp_path):
    from seqtasks.diagnostics.gradient_log import _CsvLog

    path = tmp_path / "g.csv"
    path.write_text("step,global_norm\n1,0.5\n2,0.")
    log = _CsvLog(path, ["step", "global_norm"], keep_existing=True)
    log.append([2, 0.25])
    log.close()
    assert path.read_text() == "step,global_norm\n1,0.5\n2,0.25\n"


def test_steps_are_counted_per_batch_with_datasets_of_unknown_length(tmp_path):
    x, y = tiny_data()

    def batches():  # Keras adds a phantom optimizer iteration when such a dataset runs out
        for start in (0, 8):
            yield x[start:start + 8], y[start:start + 8]

    spec = (tf.TensorSpec((8, 4), tf.float32), tf.TensorSpec((8, 1), tf.float32))
    data = tf.data.Dataset.from_generator(batches, output_signature=spec)
    summary = fit(two_layer_model(1.0), data, data, TrainConfig(epochs=2, grad_diagnostics=True),
                  tmp_path / "r", tmp_path / "logs", verbose=0)
    rows = read_rows(summary["gradients_csv"])
    assert [(r["step"], r["epoch"], r["batch"]) for r in rows] == [
        ("1", "1", "1"), ("2", "1", "2"), ("3", "2", "1"), ("4", "2", "2")]
