"""Training helper shared by every pipeline: optimizer with global-norm clipping, early stopping,
resumable checkpoints, TensorBoard logs, a NaN guard and a wall-clock time budget."""

from __future__ import annotations

import math
import time
import warnings
from pathlib import Path
from typing import Callable

import keras

from seqtasks.training import distributed
from seqtasks.training.backup import AtomicBackupAndRestore, has_backup
from seqtasks.config import LR_SCHEDULES, TrainConfig
from seqtasks.diagnostics.gradient_log import GradientLog
from seqtasks.errors import ConfigError, TrainingError
from seqtasks.training.epoch_log import progress

OPTIMIZERS = {
    "adam": keras.optimizers.Adam,
    "rmsprop": keras.optimizers.RMSprop,
    "sgd": keras.optimizers.SGD,
}


def make_optimizer(name: str, learning_rate, clipnorm: float | None,
                   pretrained: tuple[str, ...] = (), pretrained_lr_scale: float = 1.0
                   ) -> keras.optimizers.Optimizer:
    """Optimizer by name. ``clipnorm`` clips by the *global* norm over all gradients, as the RNN
    literature means it (Keras' own ``clipnorm=`` clips each tensor separately). The variables
    whose paths are in ``pretrained`` learn at ``pretrained_lr_scale`` times the rate
    (discriminative fine-tuning; ``FreezePretrained`` sets the factor to 0 for the first epochs)."""
    if name not in OPTIMIZERS:
        raise ConfigError(f"Unknown optimizer '{name}'. Expected one of: {', '.join(OPTIMIZERS)}")
    if clipnorm is not None and clipnorm <= 0:
        raise ConfigError(f"clipnorm must be > 0 or none, got {clipnorm}")
    if not pretrained:
        return OPTIMIZERS[name](learning_rate=learning_rate, global_clipnorm=clipnorm)
    return SCALED_OPTIMIZERS[name](learning_rate=learning_rate, global_clipnorm=clipnorm,
                                   pretrained=pretrained, pretrained_lr_scale=pretrained_lr_scale)


class PretrainedRate:
    """Mixed into a Keras optimizer: the rate of the ``pretrained`` variables is multiplied by
    the variable ``pretrained_rate`` (saved with the optimizer, so a resumed run keeps it)."""

    def __init__(self, *args, pretrained: tuple[str, ...] = (), pretrained_lr_scale: float = 1.0,
                 **kwargs):
        super().__init__(*args, **kwargs)
        self.pretrained = frozenset(pretrained)
        self.pretrained_lr_scale = pretrained_lr_scale

    def build(self, variables):
        super().build(variables)
        self.pretrained_rate = self.add_variable(
            (), initializer=keras.initializers.Constant(self.pretrained_lr_scale),
            name="pretrained_rate")
        # update_step may get the backend's variable (a tf.Variable): match by the key the
        # optimizer itself uses for a variable
        self.pretrained_keys = {self._var_key(v) for v in variables if v.path in self.pretrained}

    def update_step(self, gradient, variable, learning_rate):
        if self._var_key(variable) in self.pretrained_keys:
            learning_rate = keras.ops.cast(learning_rate, variable.dtype) * keras.ops.cast(
                self.pretrained_rate, variable.dtype)
        return super().update_step(gradient, variable, learning_rate)


SCALED_OPTIMIZERS = {name: type(f"Pretrained{cls.__name__}", (PretrainedRate, cls), {})
                     for name, cls in OPTIMIZERS.items()}


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


def learning_rate_schedule(learning_rate: float, schedule: str, decay: float,
                           steps_per_epoch: int, epochs: int):
    """The learning rate over training, for ``make_optimizer``.

    ``step``: multiplied by ``decay`` after every epoch (1.0: constant). ``cosine``: half a cosine
    from ``learning_rate`` down to 0 at the end of epoch ``epochs``, step by step; with a time
    budget, set ``epochs`` to what fits in it, so the rate anneals before the budget ends.
    """
    if schedule not in LR_SCHEDULES:
        raise ConfigError(f"Unknown lr_schedule '{schedule}'. Expected one of: "
                          f"{', '.join(LR_SCHEDULES)}")
    if schedule == "cosine":
        return keras.optimizers.schedules.CosineDecay(
            learning_rate, decay_steps=max(steps_per_epoch * epochs, 1))
    if not 0 < decay <= 1:
        raise ConfigError(f"lr_decay must be in (0, 1], got {decay}")
    if decay == 1:
        return learning_rate
    return keras.optimizers.schedules.ExponentialDecay(
        learning_rate, decay_steps=max(steps_per_epoch, 1), decay_rate=decay, staircase=True)


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


def fit(
    model: keras.Model,
    train_data,
    valid_data,
    config: TrainConfig,
    resume_dir: str | Path,
    log_dir: str | Path,
    monitor: str = "val_loss",
    mode: str = "min",
    callbacks: list[keras.callbacks.Callback] = (),
    verbose: int | str = "auto",
) -> dict:
    """``model.fit`` with the toolkit's callbacks; returns a JSON-able training summary.

    ``resume_dir/backup`` holds the state of the last finished epoch (removed when training
    completes): running ``fit`` again with the same ``resume_dir`` after an interruption continues
    from there. ``log_dir`` receives TensorBoard event files. ``callbacks`` run before early
    stopping, so a score they add to the logs (``EpochScore``) can be the ``monitor``. With a
    multi-worker ``TF_CONFIG``, training runs on every worker (``seqtasks.training.distributed``).
    """
    backup_dir = Path(resume_dir) / "backup"
    resumed = has_backup(backup_dir)
    budget = TimeBudget(config.time_budget) if config.time_budget else None
    early_stopping = keras.callbacks.EarlyStopping(
        monitor=monitor, mode=mode, patience=config.early_stopping_patience,
        restore_best_weights=True, verbose=0)
    diagnostics = []
    if config.grad_diagnostics:
        if distributed.is_multi_worker():
            raise ConfigError("grad_diagnostics runs in single-process training; "
                              "set grad_diagnostics=false for multi-worker runs")
        diagnostics = [GradientLog(log_dir, resumed)]  # before NanGuard: it names the layer
    all_callbacks = [
        *diagnostics,
        NanGuard(),
        AtomicBackupAndRestore(str(backup_dir)),
        *callbacks,  # before early stopping and TensorBoard, which read the scores they log
        early_stopping,
        keras.callbacks.TensorBoard(log_dir=str(log_dir), write_graph=False),
    ]
    if budget:
        all_callbacks.append(budget)
    verbose, loggers = progress(verbose, config.epochs)
    all_callbacks += loggers  # last: every score of the epoch is in the logs by then
    start = time.monotonic()
    with warnings.catch_warnings():
        # Our datasets are shuffled by tf.data and of unknown length on the first epoch; Keras
        # warns about both on every run, which users can do nothing about.
        warnings.filterwarnings("ignore", message=".*shuffle=True.*", category=UserWarning)
        warnings.filterwarnings("ignore", message=".*ran out of data.*", category=UserWarning)
        if distributed.is_multi_worker():  # TF_CONFIG names several workers
            history = distributed.fit_multi_worker(model, train_data, valid_data, config.epochs,
                                                   all_callbacks, verbose)
        else:
            history = model.fit(train_data, validation_data=valid_data, epochs=config.epochs,
                                callbacks=all_callbacks, verbose=verbose)
    seconds = time.monotonic() - start
    curves = {k: [float(v) for v in values] for k, values in history.history.items()}
    summary = {
        "train_seconds": round(seconds, 2),
        "epochs_run": len(next(iter(curves.values()), [])),
        "best_epoch": (early_stopping.best_epoch + 1) if early_stopping.best_weights else None,
        "stopped_by": "time_budget" if budget and budget.exhausted
        else "early_stopping" if early_stopping.stopped_epoch else "epochs",
        "resumed": resumed,
        "parameters": int(sum(math.prod(v.shape) for v in model.trainable_variables)),
        "history": curves,
        **({"gradients_csv": str(Path(log_dir) / "gradients.csv")} if diagnostics else {}),
    }
    return summary
