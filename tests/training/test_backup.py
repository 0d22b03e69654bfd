"""The resumable run's last-epoch backup: an interrupt while it is written leaves the previous
one whole (tests/pipelines/test_sentiment.py interrupts a real CLI run)."""

import json

import keras
import numpy as np
import pytest

from seqtasks.training.backup import WEIGHTS, AtomicBackupAndRestore, has_backup


def small_model(seed):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    model.optimizer.build(model.trainable_variables)
    return model


def test_an_interrupted_backup_leaves_the_previous_one_loadable(tmp_path, monkeypatch):
    backup_dir = tmp_path / "backup"
    model = small_model(0)
    callback = AtomicBackupAndRestore(str(backup_dir))
    callback.set_model(model)
    callback.on_epoch_end(0)
    saved = [w.copy() for w in model.get_weights()]
    assert has_backup(backup_dir)
    assert json.loads((backup_dir / "training_metadata.json").read_text())["epoch"] == 1

    model.set_weights([w + 1 for w in saved])
    real_save = keras.Model.save_weights

    def interrupted(self, filepath, overwrite=True):
        real_save(self, filepath, overwrite)
        with open(filepath, "r+b") as half_written:  # as if cut off in the middle
            half_written.truncate(100)
        raise KeyboardInterrupt

    monkeypatch.setattr(keras.Model, "save_weights", interrupted)
    with pytest.raises(KeyboardInterrupt):
        callback.on_epoch_end(1)
    monkeypatch.undo()
    assert sorted(p.name for p in backup_dir.iterdir()) == [WEIGHTS, "training_metadata.json"]

    resumed = small_model(1)
    restore = AtomicBackupAndRestore(str(backup_dir))
    restore.set_model(resumed)
    restore.on_train_begin()
    assert resumed._initial_epoch == 1
    for got, want in zip(resumed.get_weights(), saved):
        np.testing.assert_array_equal(got, want)


def test_a_leftover_temporary_file_is_not_a_backup(tmp_path):
    (tmp_path / f".{WEIGHTS}.abc.tmp.weights.h5").write_bytes(b"partial")  # after a kill -9
    assert not has_backup(tmp_path) and not has_backup(tmp_path / "missing")
