"""IMDB unlabelled: reviews by id, one a line, <br /> as spaces; the last 1,000 validate."""

import pytest

from pipelines.datasets import imdb, prepare
from seqtasks.errors import DataError


def write_release(folder, count=imdb.VALID_REVIEWS + 3):
    unsup = folder / "aclImdb" / "train" / "unsup"
    unsup.mkdir(parents=True)
    for review in range(count):
        (unsup / f"{review}_0.txt").write_text(f"Review {review}.<br /><br />Fine  film.",
                                               encoding="utf-8")
    return folder


def test_reviews_in_id_order_one_a_line(tmp_path):
    prepare("imdb", write_release(tmp_path / "release"), tmp_path / "out")
    lines = (tmp_path / "out" / "imdb_unsup.txt").read_text().splitlines()
    assert lines[:3] == ["Review 0. Fine film.", "Review 1. Fine film.", "Review 2. Fine film."]
    assert lines[10] == "Review 10. Fine film."  # 10 after 9, not after 1
    train = (tmp_path / "out" / "imdb_train.txt").read_text().splitlines()
    valid = (tmp_path / "out" / "imdb_valid.txt").read_text().splitlines()
    assert train == lines[:3] and valid == lines[3:] and len(valid) == imdb.VALID_REVIEWS


def test_a_stray_file_is_named(tmp_path):
    release = write_release(tmp_path / "release", count=2)
    (release / "aclImdb/train/unsup/notes.txt").write_text("mine")
    with pytest.raises(DataError, match=r"notes\.txt: not a review file"):
        prepare("imdb", release, tmp_path / "out")


def test_too_few_reviews_for_the_split(tmp_path):
    with pytest.raises(DataError, match="5 reviews; the split holds out the last 1,000"):
        prepare("imdb", write_release(tmp_path / "release", count=5), tmp_path / "out")


def test_more_text_than_the_release_is_refused_before_reading(tmp_path, monkeypatch):
    release = write_release(tmp_path / "release", count=4)
    monkeypatch.setattr(imdb, "MAX_TOTAL_BYTES", 100)  # each review file is 37 bytes
    with pytest.raises(DataError, match="more than 100 bytes of reviews"):
        prepare("imdb", release, tmp_path / "out")
