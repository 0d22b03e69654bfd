"""Fit one task's model on this process' Keras backend: datasets, build, compile (optimizer,
schedule, loss), fit with the lifecycle's callbacks (throughput, pretrained freeze, the task's
own), and the training summary. The lifecycle calls it in-process; ``backends`` calls it in the
child process that trains on another backend.
"""

from __future__ import annotations

import sys

import keras

from seqtasks.config import TransferConfig
from seqtasks.training import malloc
from seqtasks.training.callbacks import EpochScore, FreezePretrained, Throughput
from seqtasks.training.fit import fit
from seqtasks.training.optimizers import learning_rate_schedule, make_optimizer

UNKNOWN_WARNING = 0.5  # share of [UNK] validation tokens that earns a warning (the bundled
# 480-sentence sample leaves about 22 %; a file of another kind of text, far more)



def fit_model(task, config, data, run, verbose="auto", user_callbacks=(), validate=True):
    """Datasets, model, compile and fit (resuming from ``run``) on this process' Keras backend;
    returns ``(model, signatures, summary)``. Signatures (TensorFlow functions) exist on the
    TensorFlow backend only; elsewhere the task's callbacks get None. ``user_callbacks`` run
    after the task's (its validation scores are in the logs they see). ``validate=False`` (a
    refit, whose training data holds the validation split) trains all ``config.epochs`` with
    no validation pass and no validation scores: they would measure data the model learns."""
    allocator = malloc.keep_freed_memory()  # before the first step's buffers
    train_ds, valid_ds = task.datasets(config, data)
    steps_per_epoch = batches_per_epoch(train_ds)
    model, pretrained = task.build(config, data)
    trainable = compile_model(task, config, model, steps_per_epoch, pretrained)
    signatures = task.signatures(config, model, data) \
        if keras.backend.backend() == "tensorflow" else None
    throughput = Throughput()
    monitor, mode = task.monitor if validate else (None, "auto")
    task_callbacks = [callback for callback in task.callbacks(config, model, data, signatures)
                      if validate or not isinstance(callback, EpochScore)]
    summary = fit(trainable, train_ds, valid_ds if validate else None, config, run.resume,
                  run.logs, monitor=monitor, mode=mode, verbose=verbose, callbacks=[
                      throughput, *transfer_callbacks(config, pretrained), *task_callbacks,
                      *user_callbacks])
    summary.update(training_summary(task, config, data, throughput, steps_per_epoch),
                   keras_backend=keras.backend.backend(), malloc=allocator)
    return model, signatures, summary


def training_summary(task, config, data, throughput: Throughput, steps_per_epoch: int) -> dict:
    """Throughput (the task's units per batch on average x batches trained / seconds inside
    them), the task's data summary and the share of [UNK] validation tokens (warned above
    ``UNKNOWN_WARNING``)."""
    units_per_batch = task.training_units(config, data) / max(steps_per_epoch, 1)
    summary = {f"train_{task.throughput_unit}_per_second": round(
        units_per_batch * throughput.batches / max(throughput.seconds, 1e-9), 1),
        **task.data_summary(config, data)}
    unknown = task.validation_unknown_share(config, data)
    if unknown is not None:
        summary["valid_unknown_share"] = round(unknown, 4)
        if unknown > UNKNOWN_WARNING:
            print(f"warning: {unknown:.1%} of the validation tokens are [UNK]: the training "
                  "vocabulary covers them poorly (check that both files hold the same kind of "
                  "text; lower min_count or raise max_vocab_size)", file=sys.stderr, flush=True)
    return summary


def compile_model(task, config, model, steps_per_epoch: int, pretrained: tuple[str, ...] = ()):
    """Compile ``task.trainable(model)`` with the config's optimizer (global-norm clipping, the
    task's learning rate on the config's ``lr_schedule``, ``pretrained_lr_scale`` for the
    ``pretrained`` variables) and the task's loss; returns the compiled Keras model."""
    trainable = task.trainable(model)
    scale = config.pretrained_lr_scale if isinstance(config, TransferConfig) else 1.0
    rate = task.learning_rate(config, steps_per_epoch)
    if isinstance(rate, (int, float)):
        rate = learning_rate_schedule(rate, config.lr_schedule, config.lr_decay,
                                      steps_per_epoch, config.epochs)
    optimizer = make_optimizer(config.optimizer, rate, config.clipnorm, pretrained, scale)
    # jit_compile=False: XLA is slower for recurrent loops on CPU (TOOLCHAIN.md).
    trainable.compile(optimizer=optimizer, jit_compile=False,
                      **task.compile_options(config, model))
    return trainable


def transfer_callbacks(config, pretrained: tuple[str, ...]) -> list:
    """``freeze_epochs``: the pretrained variables wait while the rest of the model learns."""
    if pretrained and isinstance(config, TransferConfig) and config.freeze_epochs:
        return [FreezePretrained(config.freeze_epochs, config.pretrained_lr_scale)]
    return []


def batches_per_epoch(dataset) -> int:
    """Batches in one pass over ``dataset`` (counted when tf.data cannot tell, e.g. bucketing)."""
    cardinality = int(dataset.cardinality())
    return cardinality if cardinality >= 0 else sum(1 for _ in dataset)
