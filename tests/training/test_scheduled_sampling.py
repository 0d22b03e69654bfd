import math

import keras
import numpy as np
import pytest

from seqtasks.errors import ConfigError
from seqtasks.training.scheduled_sampling import (ExponentialSchedule, InverseSigmoidSchedule,
                                         LinearSchedule, ScheduledSampling,
                                         ScheduledSamplingConfig, make_schedule)


def test_linear_schedule():
    schedule = LinearSchedule(slope=1e-3, floor=0.2)
    assert [schedule(i) for i in (0, 100, 500, 800, 10_000)] == pytest.approx(
        [1.0, 0.9, 0.5, 0.2, 0.2])


def test_exponential_schedule():
    schedule = ExponentialSchedule(decay=0.99, floor=0.1)
    assert schedule(0) == 1.0
    assert schedule(10) == pytest.approx(0.99 ** 10)
    assert schedule(1000) == 0.1  # 0.99 ** 1000 = 4e-5, floored


def test_inverse_sigmoid_schedule():
    schedule = InverseSigmoidSchedule(k=100, floor=0.0)
    assert schedule(0) == pytest.approx(100 / 101)
    assert schedule(500) == pytest.approx(100 / (100 + math.exp(5)))
    assert schedule(10 ** 7) == 0.0  # no overflow
    values = [schedule(i) for i in range(0, 2000, 100)]
    assert all(a > b for a, b in zip(values, values[1:]))


def test_config_picks_the_schedule_and_checks_its_parameters():
    assert make_schedule(ScheduledSamplingConfig()) is None
    chosen = make_schedule(ScheduledSamplingConfig(sampling_schedule="exponential",
                                                   sampling_decay=0.5, teacher_forcing_floor=0))
    assert isinstance(chosen, ExponentialSchedule) and chosen(2) == 0.25
    with pytest.raises(ConfigError, match=r"sampling_decay must be in \(0, 1\), got 1.5"):
        make_schedule(ScheduledSamplingConfig(sampling_schedule="exponential", sampling_decay=1.5))
    with pytest.raises(ConfigError, match="sampling_k must be >= 1"):
        make_schedule(ScheduledSamplingConfig(sampling_schedule="inverse_sigmoid", sampling_k=0.5))
    with pytest.raises(ConfigError, match=r"teacher_forcing_floor must be in \[0, 1\]"):
        make_schedule(ScheduledSamplingConfig(sampling_schedule="linear",
                                              teacher_forcing_floor=2))


def test_callback_follows_the_optimizer_step_and_logs_the_probability():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    probability = keras.Variable(0.0, trainable=False)
    seen = []
    record = keras.callbacks.LambdaCallback(
        on_train_batch_begin=lambda batch, logs: seen.append(float(probability.numpy())))
    history = model.fit(np.zeros((8, 2)), np.zeros((8, 1)), batch_size=2, epochs=2, verbose=0,
                        callbacks=[ScheduledSampling(probability, LinearSchedule(0.1, 0.0)),
                                   record])
    assert seen == pytest.approx([0.1 * step for step in range(8)])
    assert history.history["sampling_probability"] == pytest.approx([0.4, 0.8])
