"""``fit``: ``model.fit`` with the toolkit's callbacks (early stopping, resumable checkpoints,
TensorBoard logs, a NaN guard, a wall-clock time budget), one process or multi-worker."""

from __future__ import annotations

import math
import time
import warnings
from pathlib import Path

import keras

from seqtasks.config import TrainConfig
from seqtasks.diagnostics.gradient_log import GradientLog
from seqtasks.errors import ConfigError
from seqtasks.training import distributed, interrupt
from seqtasks.training.backup import AtomicBackupAndRestore, has_backup
from seqtasks.training.callbacks import NanGuard, StopWhenInterrupted, TimeBudget
from seqtasks.training.epoch_log import progress


def fit(
    model: keras.Model,
    train_data,
    valid_data,
    config: TrainConfig,
    resume_dir: str | Path,
    log_dir: str | Path,
    monitor: str | None = "val_loss",
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
    ``monitor=None`` trains every one of ``config.epochs`` and keeps the last weights (a refit:
    ``valid_data`` may then be None).
    """
    backup_dir = Path(resume_dir) / "backup"
    resumed = has_backup(backup_dir)
    budget = TimeBudget(config.time_budget) if config.time_budget else None
    early_stopping = keras.callbacks.EarlyStopping(
        monitor=monitor, mode=mode, patience=config.early_stopping_patience,
        restore_best_weights=True, verbose=0) if monitor else None
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
        *([early_stopping] if early_stopping else []),
        keras.callbacks.TensorBoard(log_dir=str(log_dir), write_graph=False),
    ]
    if budget:
        all_callbacks.append(budget)
    verbose, loggers = progress(verbose, config.epochs)
    all_callbacks += loggers  # last: every score of the epoch is in the logs by then
    # After the backup: an epoch that finished before a Ctrl-C is kept for the resume.
    all_callbacks.append(StopWhenInterrupted())
    start = time.monotonic()
    with warnings.catch_warnings(), interrupt.graceful():
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
        "best_epoch": (early_stopping.best_epoch + 1)
        if early_stopping and early_stopping.best_weights else None,
        "stopped_by": "time_budget" if budget and budget.exhausted
        else "early_stopping" if early_stopping and early_stopping.stopped_epoch else "epochs",
        "resumed": resumed,
        "parameters": int(sum(math.prod(v.shape) for v in model.trainable_variables)),
        "history": curves,
        **({"gradients_csv": str(Path(log_dir) / "gradients.csv")} if diagnostics else {}),
    }
    return summary
