"""The last-epoch backup of a resumable run, written atomically.

Keras' ``BackupAndRestore`` writes ``latest.weights.h5`` and ``training_metadata.json`` in place.
A Ctrl-C or a kill that lands while it writes leaves a file the resumed run cannot load ("Layer
'lstm_cell' expected 3 variables, but received 0", seen in CI). Here each file is written next to
its final name and renamed into place, so the backup directory only ever holds complete files.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import keras

from seqtasks.io import atomic_path, atomic_write_text

WEIGHTS = "latest.weights.h5"  # Keras' name for the backup's weights


def has_backup(backup_dir: str | Path) -> bool:
    """Whether ``backup_dir`` holds a finished epoch's weights to resume from."""
    return (Path(backup_dir) / WEIGHTS).is_file()


class AtomicBackupAndRestore(keras.callbacks.BackupAndRestore):
    """``keras.callbacks.BackupAndRestore`` (per epoch), its two files written atomically.

    The weights are renamed into place first. An interrupt between the two renames resumes at
    the previous epoch's number with the newer weights: one epoch is trained again, and nothing
    is lost or unreadable.
    """

    def _save_model(self):  # Keras' hook for writing one backup; restoring is Keras' own
        os.makedirs(self.backup_dir, exist_ok=True)
        # save_weights wants a name ending in .weights.h5
        with atomic_path(self._weights_path, suffix=".tmp.weights.h5") as weights:
            self.model.save_weights(str(weights), overwrite=True)
        atomic_write_text(self._training_metadata_path, json.dumps(
            {"epoch": self._current_epoch, "batch": self._last_batch_seen}))
