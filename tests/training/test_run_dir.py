"""The run directory: resume state is kept for the same config and refused for another."""

import pytest

from pipelines.sentiment import SentimentConfig
from seqtasks.errors import TrainingError
from seqtasks.training.backup import WEIGHTS
from seqtasks.training.run_dir import RunDir


def finish_an_epoch(run: RunDir) -> None:
    (run.resume / "backup").mkdir()
    (run.resume / "backup" / WEIGHTS).write_bytes(b"weights")


def test_resume_refuses_a_changed_config(tmp_path):
    assert RunDir(tmp_path).start(SentimentConfig()) is False
    finish_an_epoch(RunDir(tmp_path))
    assert RunDir(tmp_path).start(SentimentConfig()) is True
    with pytest.raises(TrainingError, match=r"different config \(changed: cell, units\)"):
        RunDir(tmp_path).start(SentimentConfig(cell="gru", units=7))


def test_a_run_killed_before_its_first_epoch_ended_starts_over(tmp_path):
    """SIGTERM or SIGKILL skip the clean-up: the config and what the run prepared stay, with no
    checkpoint. Reusing them would build the model without its pretrained rows, which a resumed
    run takes from the checkpoint."""
    run = RunDir(tmp_path)
    assert run.start(SentimentConfig()) is False
    (run.resume / "prepared.json").write_text("{}")
    assert RunDir(tmp_path).start(SentimentConfig()) is False
    assert sorted(p.name for p in run.resume.iterdir()) == ["config.json"]
    assert RunDir(tmp_path).start(SentimentConfig(units=7)) is False  # nothing to keep
