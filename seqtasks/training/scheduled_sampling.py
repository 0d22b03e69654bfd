"""Scheduled sampling (Bengio et al., 2015): decoders trained on their own predictions, more and
more often as training goes on.

A schedule gives eps_i, the probability of feeding the gold previous token at training step i
(teacher forcing); the decoder feeds its own prediction with probability 1 - eps_i. The three
decays of the paper, each floored at ``floor`` (the paper's epsilon, so that some teacher forcing
always remains):

    linear:           eps_i = max(floor, 1 - slope * i)
    exponential:      eps_i = max(floor, decay ** i)                  (decay < 1)
    inverse_sigmoid:  eps_i = max(floor, k / (k + exp(i / k)))        (k >= 1)
"""

from __future__ import annotations

import math

import keras

from seqtasks.errors import ConfigError
from seqtasks.models.seq2seq_config import SAMPLING_SCHEDULES, ScheduledSamplingConfig


class LinearSchedule:
    def __init__(self, slope: float, floor: float):
        self.slope, self.floor = slope, floor

    def __call__(self, step: int) -> float:
        return max(self.floor, 1.0 - self.slope * step)


class ExponentialSchedule:
    def __init__(self, decay: float, floor: float):
        if not 0 < decay < 1:
            raise ConfigError(f"sampling_decay must be in (0, 1), got {decay}")
        self.decay, self.floor = decay, floor

    def __call__(self, step: int) -> float:
        return max(self.floor, self.decay ** step)


class InverseSigmoidSchedule:
    def __init__(self, k: float, floor: float):
        if k < 1:
            raise ConfigError(f"sampling_k must be >= 1, got {k}")
        self.k, self.floor = k, floor

    def __call__(self, step: int) -> float:
        exponent = step / self.k
        if exponent > 700:  # exp overflows; the value is 0 to double precision anyway
            return self.floor
        return max(self.floor, self.k / (self.k + math.exp(exponent)))


# The config section lives in a module without TensorFlow (``seqtasks config`` lists it).
SCHEDULES = SAMPLING_SCHEDULES


def make_schedule(config: ScheduledSamplingConfig):
    """The teacher-forcing schedule of a config, or None for ``sampling_schedule=none``."""
    if not 0 <= config.teacher_forcing_floor <= 1:
        raise ConfigError(f"teacher_forcing_floor must be in [0, 1], got "
                          f"{config.teacher_forcing_floor}")
    floor = config.teacher_forcing_floor
    schedules = {
        "none": lambda: None,
        "linear": lambda: LinearSchedule(config.sampling_slope, floor),
        "exponential": lambda: ExponentialSchedule(config.sampling_decay, floor),
        "inverse_sigmoid": lambda: InverseSigmoidSchedule(config.sampling_k, floor),
    }
    if config.sampling_schedule not in schedules:
        raise ConfigError(f"Unknown sampling_schedule '{config.sampling_schedule}'. Expected "
                          f"one of: {', '.join(schedules)}")
    return schedules[config.sampling_schedule]()


class ScheduledSampling(keras.callbacks.Callback):
    """Before every training batch, set ``probability`` (a decoder's sampling variable) to
    1 - eps_i, with i the optimizer's step count (so a resumed run continues the schedule).
    Logs ``sampling_probability`` at the end of each epoch. ``controls``: the variable it sets,
    for multi-worker training to pass on to the model it trains."""

    def __init__(self, probability: keras.Variable, schedule):
        super().__init__()
        self.probability = probability
        self.controls = (probability,)
        self.schedule = schedule

    def on_train_batch_begin(self, batch, logs=None):
        step = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
        self.probability.assign(1.0 - self.schedule(step))

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            step = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
            logs["sampling_probability"] = 1.0 - self.schedule(step)


def sampling_callbacks(probability: keras.Variable, config: ScheduledSamplingConfig) -> list:
    """``[ScheduledSampling(...)]`` for a config with a schedule, else ``[]``."""
    schedule = make_schedule(config)
    return [ScheduledSampling(probability, schedule)] if schedule else []
