"""``refit=true``: once early stopping on the validation data has found the best epoch count,
a fresh model trains on train + valid for that many epochs, and that one is exported. The
validation scores reported stay the first model's: the refit learns the validation split, so
scores on it would say nothing. Both passes resume after an interruption: the first pass's
outcome is saved before the refit starts, and the refit keeps its own state under
``.resume/refit``.

A task offers it with ``merged_splits(splits) -> Splits``: train + valid as the training split
(the refit's vocabulary, labels and examples come from both), the validation split as it is.
"""

from __future__ import annotations

import dataclasses
import json

import keras

from seqtasks.errors import ConfigError, ModelError
from seqtasks.io import atomic_write_text
from seqtasks.training.fit_task import fit_model
from seqtasks.training.prepared import prepare_data
from seqtasks.training.run_dir import FIRST_PASS, RunDir

STAGE = "refit"  # the refit's own resume state and logs: .resume/refit, logs/refit


def check(task, config) -> None:
    """``refit`` needs a task that can merge its splits, and this process' backend."""
    if not getattr(config, "refit", False):
        return
    if not callable(getattr(task, "merged_splits", None)):
        raise ConfigError(f"refit=true: the {task.name} task cannot train on its validation "
                          "data; set refit=false")
    if getattr(config, "train_backend", "tensorflow") != "tensorflow":
        raise ConfigError(f"refit=true trains on the tensorflow backend only (got "
                          f"train_backend={config.train_backend}); set one or the other")


def save_first_pass(run: RunDir, summary: dict, metrics: dict) -> dict:
    first = {"summary": summary, "metrics": metrics}
    atomic_write_text(run.path(FIRST_PASS), json.dumps(first, indent=2))
    return first


def load_first_pass(run: RunDir) -> dict | None:
    """The saved first pass of an interrupted refit run, or None when it did not finish."""
    path = run.path(FIRST_PASS)
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ModelError(f"{path}: cannot read the interrupted run's first pass ({e}); delete "
                         f"{run.resume} to start over") from None


def epochs_found(summary: dict) -> int:
    """The epoch count the first pass found best on the validation data (all it ran when
    nothing stopped it early)."""
    return int(summary.get("best_epoch") or summary["epochs_run"])


def refit(task, config, splits, first: dict, run: RunDir, verbose="auto", callbacks=()):
    """Train a fresh model on ``task.merged_splits(splits)`` for the first pass's best epoch
    count, with the same config and seed; returns ``(model, signatures, data, summary)``:
    the first pass's summary with a ``refit`` entry (epochs, seconds, examples, its loss)."""
    stage = run.stage(STAGE)
    stage.resume.mkdir(parents=True, exist_ok=True)
    epochs = epochs_found(first["summary"])
    refit_config = dataclasses.replace(config, epochs=epochs)
    merged = task.merged_splits(splits)
    keras.utils.set_random_seed(config.seed)
    data = prepare_data(task, refit_config, merged, stage,
                        resumed=stage.path("prepared.json").exists())
    model, signatures, refit_summary = fit_model(task, refit_config, data, stage, verbose,
                                                 callbacks, validate=False)
    # The refit's data (vocabulary, vectors' coverage) is what the export holds.
    summary = {**first["summary"], **task.data_summary(refit_config, data)}
    summary["refit"] = {
        "data": "train + valid",
        "epochs": epochs,
        "train_seconds": refit_summary["train_seconds"],
        "examples": len(merged.train),
        "loss": refit_summary["history"].get("loss", []),
        "note": "the export was trained on train + valid for the epochs the first pass found "
                "best on valid; the validation metrics are the first pass's",
    }
    return model, signatures, data, summary
