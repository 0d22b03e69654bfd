"""SST-2: clairett's TEXT<TAB>1|0 files become label<TAB>text with pos/neg, rows in order."""

import pytest

from pipelines.datasets import prepare
from seqtasks.data.labelled import read_labelled
from seqtasks.errors import DataError


def write_release(folder, dev="a tedious mess \t0\n", test=None):
    sst = folder / "data" / "SST2"
    sst.mkdir(parents=True)
    (sst / "train.tsv").write_text("a gorgeous , witty film\t1\nit 's a dud\t0\n"
                                   "  lrb and rrb it works  \t1\n", encoding="utf-8")
    (sst / "dev.tsv").write_text(dev, encoding="utf-8")
    if test is not None:
        (sst / "test.tsv").write_text(test, encoding="utf-8")
    return folder


def test_release_becomes_the_sentiment_format(tmp_path):
    written = prepare("sst2", write_release(tmp_path / "release", test="fine\t1\n"),
                      tmp_path / "out")
    assert [w.path.name for w in written] == ["train.tsv", "valid.tsv", "test.tsv"]
    assert (tmp_path / "out" / "train.tsv").read_bytes() == (
        b"label\ttext\npos\ta gorgeous , witty film\nneg\tit 's a dud\n"
        b"pos\tlrb and rrb it works\n")
    assert (tmp_path / "out" / "valid.tsv").read_text() == "label\ttext\nneg\ta tedious mess\n"
    data = read_labelled(tmp_path / "out" / "train.tsv")
    assert data.labels == ["pos", "neg", "pos"]
    assert written[0].lines == 4 and written[0].matches_reference is False


def test_test_split_is_optional(tmp_path):
    written = prepare("sst2", write_release(tmp_path / "release"), tmp_path / "out")
    assert [w.path.name for w in written] == ["train.tsv", "valid.tsv"]


@pytest.mark.parametrize("row", ["good film\t2", "good film 1", "\t1", "label\ttext",
                                 "good\tfilm\t1"])
def test_a_malformed_row_is_named_by_file_and_line(tmp_path, row):
    release = write_release(tmp_path / "release", dev=f"fine\t1\n{row}\n")
    with pytest.raises(DataError, match=r"dev\.tsv:2: expected 'TEXT<TAB>1'"):
        prepare("sst2", release, tmp_path / "out")
    assert not (tmp_path / "out" / "valid.tsv").exists()
