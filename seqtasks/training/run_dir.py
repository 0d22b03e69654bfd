"""The training side of an export root: resume state and logs next to the numbered versions.

    OUT/
      1/ 2/ ...        exported versions (TF Serving layout; see seqtasks.export)
      logs/            TensorBoard event files of every run
      .resume/         state of an unfinished run: config, vocabularies, last-epoch backup

``.resume`` is created when training starts and removed after a successful export, so running the
same ``train`` command after an interruption continues where it stopped.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from seqtasks import config as config_lib
from seqtasks.errors import ModelError, TrainingError
from seqtasks.io import atomic_write_text
from seqtasks.training.backup import has_backup


FIRST_PASS = "first_pass.json"  # a refit's finished first pass (seqtasks.training.refit)


class RunDir:
    def __init__(self, out_dir: str | Path):
        self.root = Path(out_dir)
        self.resume = self.root / ".resume"
        self.logs = self.root / "logs"

    def start(self, config) -> bool:
        """Create the directories; True when an unfinished run with the same config exists."""
        try:
            self.resume.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ModelError(f"{self.root}: cannot create output directory "
                             f"({e.strerror})") from None
        saved = self.resume / "config.json"
        current = config_lib.to_dict(config)
        if saved.exists() and not self.has_finished_epoch():
            # A run killed (SIGTERM, SIGKILL) before its first epoch ended, which skips the
            # clean-up: nothing to resume, so the rerun is a new run, whose config may differ
            # and which prepares again from the files as they are now.
            shutil.rmtree(self.resume)
            self.resume.mkdir(parents=True)
        if saved.exists():
            previous = json.loads(saved.read_text(encoding="utf-8"))
            if previous != current:
                changed = sorted(k for k in current if previous.get(k) != current[k])
                raise TrainingError(
                    f"{self.root} has an unfinished run with a different config "
                    f"(changed: {', '.join(changed)}); rerun with the same settings to resume, "
                    f"or delete {self.resume} to start over")
            return True
        atomic_write_text(saved, json.dumps(current, indent=2))
        return False

    def has_finished_epoch(self) -> bool:
        """Whether the unfinished run got far enough to resume (a last-epoch backup exists, or
        a refit's first pass finished)."""
        return has_backup(self.resume / "backup") or (self.resume / FIRST_PASS).exists()

    def path(self, name: str) -> Path:
        return self.resume / name

    def stage(self, name: str) -> "RunDir":
        """A run inside this one, with its own resume state and logs (``.resume/NAME``,
        ``logs/NAME``): a refit's second fit."""
        stage = RunDir(self.root)
        stage.resume, stage.logs = self.resume / name, self.logs / name
        return stage

    def finish(self) -> None:
        shutil.rmtree(self.resume, ignore_errors=True)
