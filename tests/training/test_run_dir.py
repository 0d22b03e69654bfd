"""The run directory: resume state is kept for the same config and refused for another."""

import pytest

from pipelines.sentiment import SentimentConfig
from seqtasks.errors import TrainingError
from seqtasks.training.run_dir import RunDir


def test_resume_refuses_a_changed_config(tmp_path):
    assert RunDir(tmp_path).start(SentimentConfig()) is False
    assert RunDir(tmp_path).start(SentimentConfig()) is True
    with pytest.raises(TrainingError, match=r"different config \(changed: cell, units\)"):
        RunDir(tmp_path).start(SentimentConfig(cell="gru", units=7))
