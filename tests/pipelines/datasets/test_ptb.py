"""PTB: Mikolov's files are checked and copied byte for byte from simple-examples/data."""

import pytest

from pipelines.datasets import prepare
from seqtasks.errors import DataError

TRAIN = " the company said N shares rose \n the <unk> fell \n"


def write_release(folder, train=TRAIN):
    data = folder / "simple-examples" / "data"
    data.mkdir(parents=True)
    (data / "ptb.train.txt").write_text(train, encoding="ascii")
    (data / "ptb.valid.txt").write_text(" prices rose \n", encoding="ascii")
    (data / "ptb.test.txt").write_text(" the market fell \n", encoding="ascii")
    (data / "ptb.char.train.txt").write_text("t h e\n", encoding="ascii")  # not ours
    return folder


def test_files_are_copied_unchanged(tmp_path):
    written = prepare("ptb", write_release(tmp_path / "release"), tmp_path / "out")
    assert [w.path.name for w in written] == ["ptb.train.txt", "ptb.valid.txt", "ptb.test.txt"]
    assert (tmp_path / "out" / "ptb.train.txt").read_text() == TRAIN
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == \
        ["ptb.test.txt", "ptb.train.txt", "ptb.valid.txt"]


@pytest.mark.parametrize("train, problem", [(" a b \n\n c \n", "2: an empty line"),
                                            (" a\tb \n", "1: a tab"),
                                            (" caf\xe9 \n", "1: bytes are not valid ascii")])
def test_a_bad_line_is_named(tmp_path, train, problem):
    release = write_release(tmp_path / "release", train="")
    (release / "simple-examples/data/ptb.train.txt").write_bytes(train.encode("latin-1"))
    with pytest.raises(DataError, match=rf"ptb\.train\.txt:{problem}"):
        prepare("ptb", release, tmp_path / "out")


def test_a_vocabulary_larger_than_the_release_is_refused(tmp_path):
    words = " ".join(f"w{i}" for i in range(10_000))
    release = write_release(tmp_path / "release", train=f" {words} \n")
    with pytest.raises(DataError, match="more than 9,999 word types"):
        prepare("ptb", release, tmp_path / "out")
