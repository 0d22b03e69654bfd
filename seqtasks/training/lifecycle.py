"""The one training lifecycle every task runs (``seqtasks.train``): check, read, run directory
and resume, seed, data, build, compile, fit (time budget, early stopping, throughput),
validation metrics, export, figures, training summary."""

from __future__ import annotations

import sys
from pathlib import Path

import keras

from seqtasks import config as config_lib
from seqtasks.config import TransferConfig
from seqtasks.evaluation.plots import learning_curves_png
from seqtasks.export.savedmodel import export_savedmodel
from seqtasks.text.pretrained import (EMBEDDING_FIELDS, coverage_line,
                                       with_vectors_dimension)
from seqtasks.training import backends, malloc
from seqtasks.training.distributed import join_cluster
from seqtasks.training.callbacks import FreezePretrained, Throughput
from seqtasks.training.fit import fit
from seqtasks.training.optimizers import learning_rate_schedule, make_optimizer
from seqtasks.training.run_dir import RunDir

UNKNOWN_WARNING = 0.5  # share of [UNK] validation tokens that earns a warning (the bundled
# 480-sentence sample leaves about 22 %; a file of another kind of text, far more)


def train(task, config, train_paths, valid_paths, out_dir, verbose="auto", **options) -> Path:
    """Train ``task`` with ``config`` on ``train_paths``, early-stop on ``valid_paths``, export
    the next version under ``out_dir`` and return its directory.

    Bad config or data fails before anything is written. An interrupted run (Ctrl-C, a killed
    job) resumes when called again with the same arguments. With a multi-worker ``TF_CONFIG``
    (tasks with ``multi_worker``) every worker runs this; the chief exports to ``out_dir``.
    With ``train_backend`` other than tensorflow the fit runs in a child process on that Keras
    backend (``seqtasks.training.backends``), and this one exports the weights it trained.
    """
    if task.multi_worker:  # before TensorFlow runs any op
        out_dir = join_cluster(out_dir)
    config_lib.check(config)
    config = with_vectors_dimension(config)  # pretrained vectors set embedding_dim
    task.check(config)
    backends.check(task, config)
    splits = task.read(config, train_paths, valid_paths, **options)
    run = RunDir(out_dir)
    resumed = run.start(config)
    if resumed:  # said even with --quiet: a rerun must tell whether it continued or restarted
        print(f"{run.root}: resuming the interrupted run with the same config from its last "
              f"finished epoch (state in {run.resume})", file=sys.stderr, flush=True)
    keras.utils.set_random_seed(config.seed)
    try:
        data = task.prepare(config, splits, run, resumed)
        if backends.elsewhere(config):
            summary = backends.fit_in_child(task, config, train_paths, valid_paths, run,
                                            verbose, options)
            model = task.build(config, data)
            backends.load_trained(task.trainable(model), run)
            signatures = task.signatures(config, model, data)
        else:
            model, signatures, summary = fit_model(task, config, data, run, verbose)
    except BaseException:
        if not run.has_finished_epoch():  # nothing to resume: nothing may block a rerun
            run.finish()
        raise

    metrics = {**task.validation_metrics(config, data, signatures),
               "data": describe_paths(valid_paths)}
    export_dir = export(task, config, model, data, run.root, metrics, summary, run.resume,
                        signatures)
    task.figures(config, data, metrics, export_dir)
    run.finish()
    if verbose != 0:
        print(summary_line(task, summary), file=sys.stderr, flush=True)
    return export_dir


def fit_model(task, config, data, run, verbose="auto"):
    """Datasets, model, compile and fit (resuming from ``run``) on this process' Keras backend;
    returns ``(model, signatures, summary)``. Signatures (TensorFlow functions) exist on the
    TensorFlow backend only; elsewhere the task's callbacks get None."""
    allocator = malloc.keep_freed_memory()  # before the first step's buffers
    train_ds, valid_ds = task.datasets(config, data)
    steps_per_epoch = batches_per_epoch(train_ds)
    model = task.build(config, data)
    pretrained = task.pretrained_variables(model, data)
    trainable = compile_model(task, config, model, steps_per_epoch, pretrained)
    signatures = task.signatures(config, model, data) \
        if keras.backend.backend() == "tensorflow" else None
    throughput = Throughput()
    monitor, mode = task.monitor
    summary = fit(trainable, train_ds, valid_ds, config, run.resume, run.logs,
                  monitor=monitor, mode=mode, verbose=verbose, callbacks=[
                      throughput, *transfer_callbacks(config, pretrained),
                      *task.callbacks(config, model, data, signatures)])
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


def export(task, config, model, data, out_dir, metrics: dict, summary: dict, work_dir,
           signatures: dict | None = None) -> Path:
    """Write ``model`` with the task's signatures and assets as the next version under
    ``out_dir`` (``seqtasks.json``: task, config, task metadata, metrics, training summary);
    ``work_dir`` holds the asset files on their way into the export."""
    assets = task.export_assets(config, model, data, Path(work_dir))
    metadata = {"task": task.name, "config": config_lib.to_dict(config), **assets.metadata,
                "metrics": metrics, "training": summary}
    export_dir = export_savedmodel(
        out_dir, task.exported(model), assets.resources,
        signatures or task.signatures(config, model, data), metadata, asset_files=assets.files)
    if summary.get("history"):
        learning_curves_png(summary["history"], export_dir / "learning_curves.png")
    return export_dir


def batches_per_epoch(dataset) -> int:
    """Batches in one pass over ``dataset`` (counted when tf.data cannot tell, e.g. bucketing)."""
    cardinality = int(dataset.cardinality())
    return cardinality if cardinality >= 0 else sum(1 for _ in dataset)


def describe_paths(paths) -> str | list[str]:
    """A data argument as JSON: one path, or the aligned files of parallel data."""
    return [str(p) for p in paths] if isinstance(paths, (list, tuple)) else str(paths)


def summary_line(task, summary: dict) -> str:
    unit = task.throughput_unit
    best = f", best epoch {summary['best_epoch']}" if summary.get("best_epoch") else ""
    vectors = "".join(f"; {coverage_line(summary[name], name)}" for name in EMBEDDING_FIELDS
                      if name in summary)
    return (f"trained {summary['epochs_run']} epochs in {summary['train_seconds']:.0f} s "
            f"(stopped by {summary['stopped_by'].replace('_', ' ')}{best}), "
            f"{summary[f'train_{unit}_per_second']:,.0f} {unit}/s{vectors}")
