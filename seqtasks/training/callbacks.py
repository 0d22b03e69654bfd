"""The Keras callbacks the lifecycle adds to every fit: throughput, the time budget, the NaN
guard, a per-epoch score for early stopping, the pretrained variables' freeze and the stop after
a Ctrl-C."""

from __future__ import annotations

import math
import time
from typing import Callable

import keras

from seqtasks.errors import TrainingError
from seqtasks.training import interrupt


class FreezePretrained(keras.callbacks.Callback):
    """ULMFiT's first step: the pretrained variables stay fixed for ``epochs`` epochs (the new
    head learns first), then learn at their scaled rate."""

    def __init__(self, epochs: int, scale: float):
        super().__init__()
        self.epochs, self.scale = epochs, scale

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = self.model.optimizer
        if not optimizer.built:
            optimizer.build(self.model.trainable_variables)
        optimizer.pretrained_rate.assign(0.0 if epoch < self.epochs else self.scale)


class Throughput(keras.callbacks.Callback):
    """Counts training batches and the seconds spent in them (validation and callbacks between
    epochs excluded), for tokens-per-second figures."""

    def __init__(self):
        super().__init__()
        self.batches = 0
        self.seconds = 0.0
        self._batch_start = 0.0

    def on_train_batch_begin(self, batch, logs=None):
        self._batch_start = time.monotonic()

    def on_train_batch_end(self, batch, logs=None):
        self.seconds += time.monotonic() - self._batch_start
        self.batches += 1


class TimeBudget(keras.callbacks.Callback):
    """Stop after ``minutes`` of training; the epoch in progress ends early and is validated."""

    def __init__(self, minutes: float):
        super().__init__()
        self.seconds = minutes * 60.0
        self.start = 0.0
        self.exhausted = False

    def on_train_begin(self, logs=None):
        self.start = time.monotonic()

    def on_train_batch_end(self, batch, logs=None):
        if time.monotonic() - self.start >= self.seconds:
            self.exhausted = True
            self.model.stop_training = True


class EpochScore(keras.callbacks.Callback):
    """Adds ``name: score()`` to the logs at the end of every epoch, e.g. a validation metric
    that needs decoding (entity F1), so that early stopping can monitor it."""

    def __init__(self, name: str, score: Callable[[], float]):
        super().__init__()
        self.name = name
        self.score = score

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs[self.name] = float(self.score())


class NanGuard(keras.callbacks.Callback):
    """Fail loudly, with a way out, instead of exporting a model whose weights went NaN."""

    def __init__(self):
        super().__init__()
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            raise TrainingError(
                f"loss became {float(loss)} at epoch {self.epoch + 1}, batch {batch + 1}: "
                "lower learning_rate or set clipnorm (e.g. --set clipnorm=1.0)")


class StopWhenInterrupted(keras.callbacks.Callback):
    """Raises ``KeyboardInterrupt`` at the first batch or epoch end after a Ctrl-C inside
    ``interrupt.graceful()``: the unfinished epoch is dropped, the last finished one resumes."""

    def _stop_if_requested(self, *args, **kwargs):
        if interrupt.requested():
            raise KeyboardInterrupt

    on_train_batch_end = on_test_batch_end = on_epoch_end = _stop_if_requested
