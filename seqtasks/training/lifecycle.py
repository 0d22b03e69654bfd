"""The one training lifecycle every task runs (``seqtasks.train``): check, read, run directory
and resume, seed, data (prepared once, saved, reloaded on resume), build, compile, fit (time budget, early stopping, throughput),
validation metrics, export, figures, training summary."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import keras

from seqtasks import config as config_lib
from seqtasks.errors import ConfigError
from seqtasks.evaluation.plots import learning_curves_png
from seqtasks.export import input_tables
from seqtasks.export.savedmodel import export_savedmodel
from seqtasks.text.pretrained import (EMBEDDING_FIELDS, coverage_line,
                                       with_vectors_dimension)
from seqtasks.training import backends, refit
from seqtasks.training.distributed import join_cluster
from seqtasks.training.fit_task import fit_model
from seqtasks.training.prepared import prepare_data
from seqtasks.training.provenance import describe_split, hardware
from seqtasks.training.run_dir import RunDir


def train(task, config, train_paths, valid_paths, out_dir, verbose="auto", callbacks=(),
          **options) -> Path:
    """Train ``task`` with ``config`` on ``train_paths``, early-stop on ``valid_paths``, export
    the next version under ``out_dir`` and return its directory.

    ``train_paths`` / ``valid_paths`` are files, or in-memory examples in the task's natural
    form (``(text, label)`` pairs or a DataFrame, ``(tokens, tags)`` sentences, strings,
    ``(source, target)`` pairs): those are written in the task's file format under
    ``out_dir/.resume/data`` and read from there, so they get the files' checks and a run
    resumes. ``callbacks``: Keras callbacks of the caller's, called during ``fit`` after the
    task's own (they see its validation scores in the logs).

    Bad config or data fails before anything is written. An interrupted run (Ctrl-C, a killed
    job) resumes when called again with the same arguments. With a multi-worker ``TF_CONFIG``
    (tasks with ``multi_worker``) every worker runs this; the chief exports to ``out_dir``.
    With ``train_backend`` other than tensorflow the fit runs in a child process on that Keras
    backend (``seqtasks.training.backends``), and this one exports the weights it trained.
    With ``refit=true`` a second model trains on train + valid for the epochs the first found
    best, and that one is exported (``seqtasks.training.refit``); ``callbacks`` see both fits.
    """
    if task.multi_worker:  # before TensorFlow runs any op
        out_dir = join_cluster(out_dir)
    config_lib.check(config)
    config = with_vectors_dimension(config)  # pretrained vectors set embedding_dim
    task.check(config)
    backends.check(task, config)
    refit.check(task, config)
    callbacks = checked_callbacks(callbacks, config)
    run = RunDir(out_dir)
    sources = {"train": "file" if task.is_data_path(train_paths) else "in-memory",
               "valid": "file" if task.is_data_path(valid_paths) else "in-memory"}
    fresh, fresh_root = not run.resume.exists(), not run.root.exists()
    try:
        train_paths = data_files(task, config, train_paths, run, "train")
        valid_paths = data_files(task, config, valid_paths, run, "valid")
        splits = task.read(config, train_paths, valid_paths, **options)
    except BaseException:
        if fresh:  # bad data leaves nothing behind, as it does when read from files
            shutil.rmtree(run.resume, ignore_errors=True)
            if fresh_root and run.root.is_dir() and not any(run.root.iterdir()):
                run.root.rmdir()
        raise
    resumed = run.start(config)
    if resumed:  # said even with --quiet: a rerun must tell whether it continued or restarted
        print(f"{run.root}: resuming the interrupted run with the same config from its last "
              f"finished epoch (state in {run.resume})", file=sys.stderr, flush=True)
    keras.utils.set_random_seed(config.seed)
    try:
        data = prepare_data(task, config, splits, run, resumed)
        first_pass = refit.load_first_pass(run) if resumed and config.refit else None
        if first_pass is not None:
            print(f"{run.root}: the first pass finished before the interruption; resuming the "
                  "refit on train + valid", file=sys.stderr, flush=True)
        elif backends.elsewhere(config):
            summary = backends.fit_in_child(task, config, train_paths, valid_paths, run,
                                            verbose, options)
            model = task.build(config, data).model
            backends.load_trained(task.trainable(model), run)
            signatures = task.signatures(config, model, data)
        else:
            model, signatures, summary = fit_model(task, config, data, run, verbose, callbacks)
        if config.refit:
            if first_pass is None:  # scored before the refit learns the validation split
                first_pass = refit.save_first_pass(
                    run, summary, task.validation_metrics(config, data, signatures))
            model, signatures, data, summary = refit.refit(task, config, splits, first_pass,
                                                           run, verbose, callbacks)
            scores = first_pass["metrics"]
        else:
            scores = task.validation_metrics(config, data, signatures)
    except BaseException:
        if not run.has_finished_epoch():  # nothing to resume: nothing may block a rerun
            run.finish()
        raise

    summary["hardware"] = hardware()
    metrics = {**scores,
               "data": describe_paths(valid_paths) if sources["valid"] == "file"
               else f"in-memory validation data ({len(splits.valid)} examples)"
               if hasattr(splits.valid, "__len__") else "in-memory validation data"}
    trained_on = {"train": describe_split(train_paths, splits.train, sources["train"]),
                  "valid": describe_split(valid_paths, splits.valid, sources["valid"]),
                  **({"refit": "train + valid"} if config.refit else {})}
    export_dir = export(task, config, model, data, run.root, metrics, summary, run.resume,
                        signatures, trained_on)
    task.figures(config, data, metrics, export_dir)
    run.finish()
    if verbose != 0:
        print(summary_line(task, summary), file=sys.stderr, flush=True)
    return export_dir


def export(task, config, model, data, out_dir, metrics: dict, summary: dict, work_dir,
           signatures: dict | None = None, trained_on: dict | None = None) -> Path:
    """Write ``model`` with the task's signatures and assets as the next version under
    ``out_dir`` (``seqtasks.json``: task, its kind and main score, config, task metadata,
    the data files it was trained on, metrics, training summary; and the model card made from
    it); ``work_dir`` holds the asset files on their way into the export."""
    assets = task.export_assets(config, model, data, Path(work_dir))
    described = {**({"kind": task.kind} if task.kind else {}),
                 **({"main_score": {"name": task.main_score[0], "mode": task.main_score[1]}}
                    if task.main_score else {})}
    # "data": what the task says of its data (NER: the tag scheme and repairs) beside the files
    # it was trained on, so neither hides the other.
    described_data = {**assets.metadata.get("data", {}), **(trained_on or {})}
    # The graph served: each embedding that feeds an LSTM becomes a table of its input products
    # (seqtasks.export.input_tables), where the task exports the model its signatures take.
    exported = task.exported(model)
    served = input_tables.fold_input_tables(model) if exported is model else exported
    tables = input_tables.described(served)
    metadata = {"task": task.name, **described, "config": config_lib.to_dict(config),
                **assets.metadata, **({"data": described_data} if described_data else {}),
                "metrics": metrics, "training": summary,
                **({"input_tables": tables} if tables else {})}
    if served is not exported:  # the training-time signatures trace the model as trained
        signatures = task.signatures(config, served, data)
    elif not signatures:
        signatures = task.signatures(config, model, data)
    export_dir = export_savedmodel(
        out_dir, served, assets.resources, signatures, metadata, asset_files=assets.files,
        warmup_examples=task.warmup_examples(config, data))
    if summary.get("history"):
        learning_curves_png(summary["history"], export_dir / "learning_curves.png")
    return export_dir


def checked_callbacks(callbacks, config) -> list:
    """The caller's Keras callbacks, each checked to be one; they run in this process only."""
    if isinstance(callbacks, keras.callbacks.Callback):
        callbacks = [callbacks]
    callbacks = list(callbacks or ())
    for i, callback in enumerate(callbacks):
        if not isinstance(callback, keras.callbacks.Callback):
            raise ConfigError(f"callbacks[{i}] is a {type(callback).__name__}, not a "
                              "keras.callbacks.Callback (wrap a function in "
                              "keras.callbacks.LambdaCallback(on_epoch_end=...))")
    if callbacks and backends.elsewhere(config):
        raise ConfigError(f"callbacks run in this process, but train_backend="
                          f"{config.train_backend} fits in a child process; train on the "
                          "tensorflow backend to use callbacks")
    return callbacks


def data_files(task, config, data, run: RunDir, split: str):
    """A data argument as files ``task.read`` takes: paths as they are, in-memory examples
    written under ``run``'s resume folder (the same examples always to the same file)."""
    if data is None:
        raise ConfigError(f"no {split} data: pass a file path or in-memory examples")
    if task.is_data_path(data):
        return data
    return task.write_examples(config, data, run.path("data"), split)


def describe_paths(paths) -> str | list[str]:
    """A data argument as JSON: one path, or the aligned files of parallel data."""
    return [str(p) for p in paths] if isinstance(paths, (list, tuple)) else str(paths)


def summary_line(task, summary: dict) -> str:
    unit = task.throughput_unit
    best = f", best epoch {summary['best_epoch']}" if summary.get("best_epoch") else ""
    vectors = "".join(f"; {coverage_line(summary[name], name)}" for name in EMBEDDING_FIELDS
                      if name in summary)
    refitted = (f"; refit on train + valid for {summary['refit']['epochs']} epochs in "
                f"{summary['refit']['train_seconds']:.0f} s") if summary.get("refit") else ""
    return (f"trained {summary['epochs_run']} epochs in {summary['train_seconds']:.0f} s "
            f"(stopped by {summary['stopped_by'].replace('_', ' ')}{best}), "
            f"{summary[f'train_{unit}_per_second']:,.0f} {unit}/s{vectors}{refitted}")
