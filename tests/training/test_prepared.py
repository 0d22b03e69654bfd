"""What a task prepares is saved once in the run directory and handed back unchanged when the
run resumes; a run cut short before the manifest was written prepares again."""

import json

from seqtasks.task import Splits
from seqtasks.text import Vocabulary
from seqtasks.text.pretrained import EmbeddingInit
from seqtasks.training.prepared import MANIFEST, prepare_data
from seqtasks.training.run_dir import RunDir
from seqtasks.transfer import Transfer


class Counting:
    """A stand-in task: counts its ``prepare`` calls; ``data`` returns what it was given."""

    def __init__(self):
        self.prepared = 0

    def prepare(self, config, splits, run):
        self.prepared += 1
        return {"vocab": Vocabulary.build([t.split() for t in splits.train]),
                "labels": ["neg", "pos"], "counts": {"a": 1},
                "embeddings": Transfer(EmbeddingInit(None, {"file": "v.txt", "dim": 3}),
                                       init_from="lm/1"),
                "target_embeddings": Transfer()}

    def data(self, config, splits, prepared, run):
        return prepared


def started_run(tmp_path):
    run = RunDir(tmp_path / "out")
    run.resume.mkdir(parents=True)
    return run


def test_a_resumed_run_gets_back_what_the_new_run_prepared(tmp_path):
    task, run, splits = Counting(), started_run(tmp_path), Splits(["a b a", "c"], ["a"])
    fresh = prepare_data(task, None, splits, run, resumed=False)
    again = prepare_data(task, None, splits, run, resumed=True)
    assert task.prepared == 1
    assert again["vocab"].tokens == fresh["vocab"].tokens
    assert again["labels"] == ["neg", "pos"] and again["counts"] == {"a": 1}
    assert again["embeddings"].vectors.report == {"file": "v.txt", "dim": 3}
    assert again["embeddings"].vectors.matrix is None  # it had no rows to keep
    assert again["embeddings"].init_from == "lm/1"
    assert again["target_embeddings"].vectors is None and not again["target_embeddings"].init_from
    assert sorted(p.name for p in run.resume.iterdir()) == [
        "embeddings.json", MANIFEST, "vocab.txt"]  # no temporary files left


def test_a_run_cut_short_while_preparing_prepares_again(tmp_path):
    task, run, splits = Counting(), started_run(tmp_path), Splits(["a b"], ["a"])
    prepare_data(task, None, splits, run, resumed=False)
    run.path(MANIFEST).unlink()  # as if killed before the manifest, written last, was in place
    prepare_data(task, None, splits, run, resumed=True)
    assert task.prepared == 2
    assert json.loads(run.path(MANIFEST).read_text())["vocab"] == {"type": "vocabulary"}


def test_the_pretrained_rows_come_back_with_what_was_prepared(tmp_path):
    """A child process on another backend (train_backend=torch), or a run resumed before any
    checkpoint, builds its model from the saved copy: it must start from the same rows."""
    import numpy as np

    class WithRows(Counting):
        def prepare(self, config, splits, run):
            rows = np.arange(12, dtype=np.float32).reshape(4, 3)
            return {"embeddings": Transfer(EmbeddingInit(rows, {"file": "v.txt", "dim": 3}))}

    task, run, splits = WithRows(), started_run(tmp_path), Splits(["a b"], ["a"])
    fresh = prepare_data(task, None, splits, run, resumed=False)
    again = prepare_data(task, None, splits, run, resumed=True)
    np.testing.assert_array_equal(again["embeddings"].vectors.matrix,
                                  fresh["embeddings"].vectors.matrix)
    assert again["embeddings"].vectors.report == {"file": "v.txt", "dim": 3}
    assert sorted(p.name for p in run.resume.iterdir()) == [
        "embeddings.json", "embeddings.npy", MANIFEST]
