"""Training on another Keras backend than TensorFlow: ``train_backend=torch``.

Keras picks its backend once per process, and everything around the fit is TensorFlow: input
(tf.data, which Keras feeds to any backend), tokenization and the export. So the lifecycle keeps
this process on TensorFlow and runs the fit, alone, in a child process with ``KERAS_BACKEND``
set (``python -m seqtasks.training.backends SPEC``):

1. this process checks config and data, starts the run directory and prepares the task's data
   (vocabularies, id files), as for any run;
2. the child reads the same files, loads what was prepared from the run directory (as a resumed
   run does), builds and fits the same model there — with the same callbacks, resumable
   backups, time budget and logs — and saves the trained weights (``trained.weights.h5``, a
   backend-neutral file) and its training summary (``trained.json``) in the run directory;
3. this process builds the model on TensorFlow, loads those weights and exports it: the
   SavedModel is the same plain-TensorFlow graph as after a TensorFlow fit.

An interrupted child resumes like any run: the rerun prepares again from the run directory and
the child continues from its last finished epoch. Tasks opt in with ``train_backends`` (their
models must be backend-neutral Keras; the language model is).
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

from seqtasks import config as config_lib
from seqtasks import errors
from seqtasks.errors import ConfigError, TrainingError
from seqtasks.io import atomic_path, atomic_write_text

DEFAULT = "tensorflow"
# What each backend needs besides this package: the module, and how to get it.
REQUIREMENTS = {"torch": ("torch", "pip install torch (or the project's torch extra)")}
WEIGHTS, SUMMARY, SPEC, ERROR = "trained.weights.h5", "trained.json", "backend-fit.json", \
    "backend-error.json"


def elsewhere(config) -> bool:
    """Whether this config's fit runs in a child process on another Keras backend."""
    return config.train_backend != DEFAULT


def check(task, config) -> None:
    """A backend the task can train on, installed, in a run it supports; before any work."""
    backend = config.train_backend
    if backend == DEFAULT:
        return
    if backend not in task.train_backends:
        raise ConfigError(f"train_backend={backend}: the {task.name} task trains on "
                          f"{', '.join(task.train_backends)} only; leave train_backend out")
    module, install = REQUIREMENTS[backend]
    if importlib.util.find_spec(module) is None:
        raise ConfigError(f"train_backend={backend} needs {module}, which is not installed: "
                          f"{install}, or leave train_backend out")
    if type(task).__module__ == "__main__":
        raise ConfigError(f"train_backend={backend} runs the fit in a child process, which "
                          f"imports the task's module: define {type(task).__name__} in an "
                          "importable module, not the script that runs it")
    if os.environ.get("TF_CONFIG"):
        raise ConfigError(f"train_backend={backend} trains in one process; multi-worker runs "
                          "(TF_CONFIG) train on tensorflow: leave train_backend out")
    if config.grad_diagnostics:
        raise ConfigError("grad_diagnostics reads TensorFlow gradients; set "
                          f"grad_diagnostics=false for train_backend={backend}")


def fit_in_child(task, config, train_paths, valid_paths, run, verbose, options: dict) -> dict:
    """Run the fit in a child process on ``config.train_backend``; returns its training summary.

    Its progress goes to this process' stdout / stderr. A failure there is raised here: a
    toolkit error with its own message, anything else as a ``TrainingError``.
    """
    spec = {"task": [type(task).__module__, type(task).__qualname__],
            "config": config_lib.to_dict(config), "train": as_json(train_paths),
            "valid": as_json(valid_paths), "options": {k: as_json(v) for k, v in options.items()},
            "out_dir": str(run.root), "verbose": verbose}
    for name in (SUMMARY, ERROR):
        run.path(name).unlink(missing_ok=True)
    atomic_write_text(run.path(SPEC), json.dumps(spec, indent=2))
    env = {**os.environ, "KERAS_BACKEND": config.train_backend}
    child = subprocess.run([sys.executable, "-m", "seqtasks.training.backends",
                            str(run.path(SPEC))], env=env)
    if run.path(ERROR).exists():
        raise rebuilt_error(json.loads(run.path(ERROR).read_text(encoding="utf-8")))
    if child.returncode != 0 or not run.path(SUMMARY).exists():
        raise TrainingError(f"training on the {config.train_backend} backend stopped (exit "
                            f"code {child.returncode}; its messages are above); the same "
                            "command resumes from its last finished epoch, if one finished")
    return json.loads(run.path(SUMMARY).read_text(encoding="utf-8"))


def described_error(error: errors.SeqtasksError) -> dict:
    """A toolkit error as JSON, for the parent to raise again."""
    if isinstance(error, errors.DataError):
        return {"type": "DataError", "fields": {"path": error.path, "problem": error.problem,
                                                "line": error.line, "hint": error.hint}}
    return {"type": type(error).__name__, "message": str(error)}


def rebuilt_error(described: dict) -> errors.SeqtasksError:
    if described["type"] == "DataError":
        return errors.DataError(**described["fields"])
    error_class = getattr(errors, described["type"], TrainingError)
    return error_class(described["message"])


def load_trained(model, run) -> None:
    """The weights the child trained, into this process' (TensorFlow) ``model``."""
    model.load_weights(run.path(WEIGHTS))


def as_json(value):
    """Paths (or lists of them) and plain values, as the child's spec holds them."""
    if isinstance(value, (list, tuple)):
        return [as_json(v) for v in value]
    return str(value) if isinstance(value, Path) else value


def child_main(spec_path: str) -> int:
    """The child: read, prepare from the run directory, fit, save weights and summary."""
    import keras

    from seqtasks.training.fit_task import fit_model
    from seqtasks.training.prepared import prepare_data
    from seqtasks.training.run_dir import RunDir

    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    run = RunDir(spec["out_dir"])
    try:
        module, name = spec["task"]
        task = getattr(importlib.import_module(module), name)()
        config = config_lib.from_dict(task.config_class, spec["config"])
        splits = task.read(config, spec["train"], spec["valid"], **spec["options"])
        keras.utils.set_random_seed(config.seed)
        # resumed=True: what the parent prepared and saved in the run directory
        data = prepare_data(task, config, splits, run, resumed=True)
        model, _, summary = fit_model(task, config, data, run, spec["verbose"])
        with atomic_path(run.path(WEIGHTS), suffix=".tmp.weights.h5") as weights:
            task.trainable(model).save_weights(str(weights), overwrite=True)
        atomic_write_text(run.path(SUMMARY), json.dumps(summary))
    except errors.SeqtasksError as error:
        atomic_write_text(run.path(ERROR), json.dumps(described_error(error)))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(child_main(sys.argv[1]))
