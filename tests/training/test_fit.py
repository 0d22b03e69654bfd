import keras
import numpy as np
import pytest
import tensorflow as tf

from seqtasks.config import TrainConfig
from seqtasks.errors import ConfigError, TrainingError
from seqtasks.training.fit import fit
from seqtasks.training.optimizers import learning_rate_schedule, make_optimizer


def regression_data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3)).astype("float32")
    return x, (x @ np.array([1.0, -2.0, 0.5], dtype="float32")).reshape(-1, 1)


def batches(x, y, batch_size=16):
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size)


def linear_model(learning_rate=0.05, clipnorm=None):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(make_optimizer("sgd", learning_rate, clipnorm), "mse")
    return model


def test_optimizer_by_name_clips_by_global_norm():
    optimizer = make_optimizer("adam", 1e-3, 1.0)
    assert isinstance(optimizer, keras.optimizers.Adam)
    assert optimizer.global_clipnorm == 1.0 and optimizer.clipnorm is None
    gradients = [np.full((2,), 3.0, "float32"), np.full((2,), 4.0, "float32")]  # norm 7.07
    clipped = optimizer._clip_gradients([keras.ops.convert_to_tensor(g) for g in gradients])
    total = np.sqrt(sum(float(np.sum(keras.ops.convert_to_numpy(g) ** 2)) for g in clipped))
    assert total == pytest.approx(1.0, rel=1e-5)
    ratio = keras.ops.convert_to_numpy(clipped[0]) / keras.ops.convert_to_numpy(clipped[1])
    np.testing.assert_allclose(ratio, 0.75, rtol=1e-5)  # direction kept: all scaled together


@pytest.mark.parametrize("name, clipnorm, message", [
    ("adamw", None, "Unknown optimizer 'adamw'. Expected one of: adam, rmsprop, sgd"),
    ("adam", 0.0, "clipnorm must be > 0"),
])
def test_optimizer_errors(name, clipnorm, message):
    with pytest.raises(ConfigError, match=message):
        make_optimizer(name, 1e-3, clipnorm)


def rate_at(schedule, step):
    return float(schedule(step)) if callable(schedule) else schedule


def test_step_schedule_decays_once_per_epoch():
    schedule = learning_rate_schedule(1.0, "step", 0.5, steps_per_epoch=10, epochs=5)
    assert [rate_at(schedule, s) for s in (0, 9, 10, 25)] == pytest.approx([1, 1, 0.5, 0.25])
    assert learning_rate_schedule(1.0, "step", 1.0, 10, 5) == 1.0  # constant: a plain number


def test_cosine_schedule_anneals_to_zero_over_the_epochs():
    schedule = learning_rate_schedule(20.0, "cosine", 1.0, steps_per_epoch=10, epochs=4)
    rates = [rate_at(schedule, s) for s in (0, 20, 40, 60)]
    assert rates == pytest.approx([20.0, 10.0, 0.0, 0.0], abs=1e-5)  # half-way: half the rate


@pytest.mark.parametrize("schedule, decay, message", [
    ("linear", 1.0, "Unknown lr_schedule 'linear'. Expected one of: step, cosine"),
    ("step", 1.5, r"lr_decay must be in \(0, 1\]"),
])
def test_schedule_errors(schedule, decay, message):
    with pytest.raises(ConfigError, match=message):
        learning_rate_schedule(1.0, schedule, decay, 10, 2)


def test_fit_trains_and_reports(tmp_path):
    keras.utils.set_random_seed(0)
    x, y = regression_data()
    model = linear_model()
    summary = fit(model, batches(x, y), batches(x, y), TrainConfig(epochs=5), tmp_path / "r",
                  tmp_path / "logs", verbose=0)
    assert summary["epochs_run"] == 5 and summary["stopped_by"] == "epochs"
    assert summary["history"]["loss"][-1] < summary["history"]["loss"][0]
    assert not (tmp_path / "r" / "backup").exists()  # removed once training completed
    assert any((tmp_path / "logs").rglob("events.out.tfevents*"))


def test_nan_loss_stops_with_advice(tmp_path):
    x, y = regression_data()
    y[5] = np.nan
    with pytest.raises(TrainingError, match=r"loss became nan at epoch 1, batch 1: lower "
                                            r"learning_rate or set clipnorm"):
        fit(linear_model(), batches(x, y), batches(x, y), TrainConfig(epochs=2), tmp_path / "r",
            tmp_path / "logs", verbose=0)


def test_time_budget_stops_early(tmp_path):
    x, y = regression_data(n=512)
    summary = fit(linear_model(), batches(x, y, 1), batches(x, y),
                  TrainConfig(epochs=1000, time_budget=0.001),
                  tmp_path / "r", tmp_path / "logs", verbose=0)
    assert summary["stopped_by"] == "time_budget" and summary["epochs_run"] == 1


def test_early_stopping_restores_the_best_weights(tmp_path):
    x, y = regression_data()
    noise = np.random.default_rng(1).normal(size=y.shape).astype("float32") * 50
    model = linear_model(learning_rate=0.3)
    summary = fit(model, batches(x, y + noise), batches(x, y),
                  TrainConfig(epochs=30, early_stopping_patience=2), tmp_path / "r",
                  tmp_path / "logs", verbose=0)
    best = min(summary["history"]["val_loss"])
    assert summary["stopped_by"] == "early_stopping"
    assert model.evaluate(x, y, verbose=0) == pytest.approx(best, rel=1e-4)


class InterruptAfter(keras.callbacks.Callback):
    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            raise KeyboardInterrupt


def test_interrupted_fit_resumes_from_the_last_epoch(tmp_path):
    keras.utils.set_random_seed(0)
    x, y = regression_data()
    config = TrainConfig(epochs=6, early_stopping_patience=10)
    model = linear_model()
    with pytest.raises(KeyboardInterrupt):
        fit(model, batches(x, y), batches(x, y), config, tmp_path / "r", tmp_path / "logs",
            callbacks=[InterruptAfter(2)], verbose=0)
    assert any((tmp_path / "r" / "backup").iterdir())
    resumed_model = linear_model()
    summary = fit(resumed_model, batches(x, y), batches(x, y), config, tmp_path / "r",
                  tmp_path / "logs", verbose=0)
    assert summary["resumed"] is True
    assert summary["epochs_run"] == 3  # epochs 4-6; 1-3 were done before the interruption
