"""MR: latin-1 snippets, positive then negative, shuffled by Random(13), cut 81 / 9 / 10 %."""

import random

import pytest

from pipelines.datasets import prepare
from seqtasks.data.labelled import read_labelled
from seqtasks.errors import DataError


def write_release(folder, pos_lines, neg_lines):
    raw = folder / "rt-polaritydata"
    raw.mkdir(parents=True)
    (raw / "rt-polarity.pos").write_bytes(b"".join(f"{s} \n".encode("latin-1")
                                                   for s in pos_lines))
    (raw / "rt-polarity.neg").write_bytes(b"".join(f"{s} \n".encode("latin-1")
                                                   for s in neg_lines))
    return folder


def test_seeded_split_of_latin1_snippets(tmp_path):
    pos = [f"a charming film number {i} , caf\xe9 scene" for i in range(50)]
    neg = [f"a dull film number {i}" for i in range(50)]
    prepare("mr", write_release(tmp_path / "release", pos, neg), tmp_path / "out")
    rows = [f"pos\t{s}" for s in pos] + [f"neg\t{s}" for s in neg]
    random.Random(13).shuffle(rows)
    expected = {"train.tsv": rows[:81], "valid.tsv": rows[81:90], "test.tsv": rows[90:]}
    for name, part in expected.items():
        assert (tmp_path / "out" / name).read_text(encoding="utf-8") == \
            "label\ttext\n" + "".join(f"{row}\n" for row in part)
    data = read_labelled(tmp_path / "out" / "train.tsv")
    assert len(data) == 81 and set(data.labels) == {"pos", "neg"}
    assert any("caf\xe9" in text for text in data.texts + read_labelled(
        tmp_path / "out" / "test.tsv").texts + read_labelled(tmp_path / "out" / "valid.tsv").texts)


def test_the_split_is_reproducible(tmp_path):
    release = write_release(tmp_path / "release", [f"good {i}" for i in range(20)],
                            [f"bad {i}" for i in range(20)])
    first = [w.sha256 for w in prepare("mr", release, tmp_path / "a")]
    assert [w.sha256 for w in prepare("mr", release, tmp_path / "b")] == first


def test_an_empty_line_is_named(tmp_path):
    release = write_release(tmp_path / "release", ["good", "", "fine"], ["bad"])
    with pytest.raises(DataError, match=r"rt-polarity\.pos:2: an empty line"):
        prepare("mr", release, tmp_path / "out")


def test_a_missing_file_says_what_to_pass(tmp_path):
    release = write_release(tmp_path / "release", ["good"], ["bad"])
    (release / "rt-polaritydata" / "rt-polarity.neg").unlink()
    with pytest.raises(DataError, match="no rt-polarity.neg here .*rt-polaritydata/"):
        prepare("mr", release, tmp_path / "out")


def test_a_copy_reencoded_as_utf8_gives_the_same_files(tmp_path):
    pos, neg = [f"une caf\xe9 {i} , na\xefve" for i in range(10)], [f"dull {i}" for i in range(10)]
    latin = write_release(tmp_path / "latin", pos, neg)
    utf8 = tmp_path / "utf8"
    (utf8 / "rt-polaritydata").mkdir(parents=True)
    for name in ("rt-polarity.pos", "rt-polarity.neg"):
        raw = (latin / "rt-polaritydata" / name).read_bytes()
        (utf8 / "rt-polaritydata" / name).write_bytes(raw.decode("latin-1").encode("utf-8"))
    assert (latin / "rt-polaritydata" / "rt-polarity.pos").read_bytes() != \
        (utf8 / "rt-polaritydata" / "rt-polarity.pos").read_bytes()
    first = [w.sha256 for w in prepare("mr", latin, tmp_path / "a")]
    assert [w.sha256 for w in prepare("mr", utf8, tmp_path / "b")] == first
    assert "caf\xe9" in (tmp_path / "b" / "train.tsv").read_text(encoding="utf-8")
