"""Multi30k: the release's .gz files unpacked unchanged, both sides of a split aligned."""

import gzip

import pytest

from pipelines.datasets import prepare
from seqtasks.data.parallel import read_parallel
from seqtasks.errors import DataError

DE = "Ein Mann schläft.\nZwei Hunde spielen im Schnee.\n"
EN = "A man sleeps.\nTwo dogs play in the snow.\n"


def write_release(folder, val_en="A woman reads.\n"):
    raw = folder / "data" / "task1" / "raw"
    raw.mkdir(parents=True)
    for name, text in {"train.de": DE, "train.en": EN, "val.de": "Eine Frau liest.\n",
                       "val.en": val_en}.items():
        (raw / f"{name}.gz").write_bytes(gzip.compress(text.encode("utf-8")))
    return folder


def test_gzipped_release_is_unpacked(tmp_path):
    written = prepare("multi30k", write_release(tmp_path / "release"), tmp_path / "out")
    assert [w.path.name for w in written] == ["train.de", "train.en", "val.de", "val.en"]
    assert (tmp_path / "out" / "train.de").read_text(encoding="utf-8") == DE
    pairs = read_parallel((tmp_path / "out" / "train.de", tmp_path / "out" / "train.en"))
    assert pairs.sources[0] == "Ein Mann schläft." and pairs.targets[1] == EN.split("\n")[1]


def test_unaligned_sides_are_refused(tmp_path):
    release = write_release(tmp_path / "release", val_en="A woman reads.\nA cat.\n")
    with pytest.raises(DataError, match=r"val\.de.gz: 1 lines but its partner has 2"):
        prepare("multi30k", release, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_side_without_its_partner_is_named(tmp_path):
    release = write_release(tmp_path / "release")
    (release / "data/task1/raw/test_2016_flickr.de.gz").write_bytes(gzip.compress(b"Hallo.\n"))
    with pytest.raises(DataError, match="test_2016_flickr.de.gz: has no partner file"):
        prepare("multi30k", release, tmp_path / "out")


def test_a_damaged_gzip_is_named(tmp_path):
    release = write_release(tmp_path / "release")
    (release / "data/task1/raw/train.de.gz").write_bytes(b"\x1f\x8b\x08\x00broken")
    with pytest.raises(DataError, match=r"train\.de\.gz: not a readable gzip file"):
        prepare("multi30k", release, tmp_path / "out")
