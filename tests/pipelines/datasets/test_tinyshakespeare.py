"""Tiny Shakespeare: the first 90 % of the characters train, the rest validate."""

import pytest

from pipelines.datasets import prepare
from seqtasks.errors import DataError

TEXT = "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n"


def test_cut_at_ninety_percent_of_the_characters(tmp_path):
    (tmp_path / "input.txt").write_text(TEXT, encoding="utf-8")
    prepare("tinyshakespeare", tmp_path / "input.txt", tmp_path / "out")
    cut = int(0.9 * len(TEXT))
    assert (tmp_path / "out" / "train.txt").read_text() == TEXT[:cut]
    assert (tmp_path / "out" / "valid.txt").read_text() == TEXT[cut:]


def test_another_file_is_not_taken_for_input_txt(tmp_path):
    (tmp_path / "shakespeare.txt").write_text(TEXT, encoding="utf-8")
    with pytest.raises(DataError, match="no input.txt here"):
        prepare("tinyshakespeare", tmp_path / "shakespeare.txt", tmp_path / "out")
