"""What a task prepares from its training split, kept in the run directory: one path for every
task. A new run calls ``Task.prepare`` and saves each entry atomically, then the manifest
(``prepared.json``) last, so a run cut short while preparing simply prepares again; a resumed
run (and the child process of ``train_backend=torch``) loads the saved copy instead.

Entries by type: a ``Vocabulary`` is saved as ``NAME.txt``; a ``Transfer`` keeps its vectors'
report as ``NAME.json`` (the checkpoint holds the weights) and its ``init_from``; anything else
must be JSON and is kept in the manifest itself.
"""

from __future__ import annotations

import json

from seqtasks.errors import ModelError
from seqtasks.io import atomic_write_text
from seqtasks.text.pretrained import EmbeddingInit
from seqtasks.text.vocab import Vocabulary
from seqtasks.transfer import Transfer

MANIFEST = "prepared.json"


def prepare_data(task, config, splits, run, resumed: bool):
    """``task.data`` over what ``task.prepare`` made for this run: made and saved in ``run``
    for a new run, loaded back from it when ``resumed`` (and it was saved)."""
    if resumed and run.path(MANIFEST).exists():
        prepared = load_prepared(run)
    else:
        prepared = task.prepare(config, splits, run)
        save_prepared(run, prepared)
    return task.data(config, splits, prepared, run)


def save_prepared(run, prepared: dict) -> None:
    manifest = {}
    for name, value in prepared.items():
        if isinstance(value, Vocabulary):
            value.save(run.path(f"{name}.txt"))
            manifest[name] = {"type": "vocabulary"}
        elif isinstance(value, Transfer):
            if value.vectors is not None:
                value.vectors.save(run.path(f"{name}.json"))
            manifest[name] = {"type": "transfer", "vectors": value.vectors is not None,
                              "init_from": value.init_from}
        else:
            manifest[name] = {"type": "json", "value": value}
    atomic_write_text(run.path(MANIFEST), json.dumps(manifest, indent=2))


def load_prepared(run) -> dict:
    try:
        manifest = json.loads(run.path(MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ModelError(f"{run.path(MANIFEST)}: cannot read the interrupted run's prepared data "
                         f"({e}); delete {run.resume} to start over") from None
    return {name: load_entry(run, name, entry) for name, entry in manifest.items()}


def load_entry(run, name: str, entry: dict):
    if entry["type"] == "vocabulary":
        return Vocabulary.load(run.path(f"{name}.txt"))
    if entry["type"] == "transfer":
        vectors = EmbeddingInit.load(run.path(f"{name}.json")) if entry["vectors"] else None
        return Transfer(vectors, init_from=entry["init_from"])
    return entry["value"]
