"""What every preparation shares: size limits before reading, atomic writes, checksums."""

import gzip

import pytest

from pipelines.datasets import prepare, release
from seqtasks.errors import ConfigError, DataError


def test_a_file_larger_than_the_release_is_refused_before_reading(tmp_path):
    path = tmp_path / "big.txt"
    path.write_bytes(b"x" * 101)
    with pytest.raises(DataError, match="101 bytes, more than this release's 100"):
        release.read_bytes(path, max_bytes=100)


def test_a_gzip_that_unpacks_past_the_limit_is_refused(tmp_path):
    path = tmp_path / "bomb.de.gz"
    path.write_bytes(gzip.compress(b"\n" * 10_000))
    assert path.stat().st_size < 1000
    with pytest.raises(DataError, match="unpacks to more than this release's 1,000 bytes"):
        release.read_bytes(path, max_bytes=1000)


def test_undecodable_bytes_are_named_by_line(tmp_path):
    path = tmp_path / "train.tsv"
    path.write_bytes(b"ok\t1\nbad \xff\t0\n")
    with pytest.raises(DataError, match=r"train\.tsv:2: bytes are not valid utf-8"):
        release.read_text(path, max_bytes=100)


def test_a_failed_preparation_leaves_earlier_files_untouched(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "train.tsv").write_text("label\ttext\npos\tkept\n")
    sst = tmp_path / "release"
    sst.mkdir()
    (sst / "train.tsv").write_text("good\t1\n")
    (sst / "dev.tsv").write_text("good\t7\n")
    with pytest.raises(DataError, match=r"dev\.tsv:1"):
        prepare("sst2", sst, tmp_path / "out")
    assert (tmp_path / "out" / "train.tsv").read_text() == "label\ttext\npos\tkept\n"
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["train.tsv"]


def test_verify_refuses_a_copy_that_is_not_the_reference(tmp_path):
    (tmp_path / "input.txt").write_text("To be, or not to be: that is the question.\n")
    with pytest.raises(DataError, match=r"train\.txt: sha256 \w+ is not the reference copy's"):
        prepare("tinyshakespeare", tmp_path, tmp_path / "out", verify=True)
    assert not (tmp_path / "out").exists()
    written = prepare("tinyshakespeare", tmp_path, tmp_path / "out")
    assert [w.matches_reference for w in written] == [False, False]
    assert "the reference copy has a9e24e23" in written[0].describe()


def test_an_unknown_dataset_lists_the_known_ones(tmp_path):
    with pytest.raises(ConfigError, match="Unknown dataset 'sst'. Expected one of: sst2, mr"):
        prepare("sst", tmp_path, tmp_path / "out")


def test_a_byte_order_mark_is_not_taken_for_text(tmp_path):
    (tmp_path / "train.tsv").write_bytes(b"\xef\xbb\xbfgood film\t1\r\nbad film\t0\r\n")
    (tmp_path / "dev.tsv").write_text("fine\t1\n")
    prepare("sst2", tmp_path, tmp_path / "out")
    assert (tmp_path / "out" / "train.tsv").read_bytes() == \
        b"label\ttext\npos\tgood film\nneg\tbad film\n"


@pytest.mark.parametrize("name, files", [
    ("conll2003", {"train.txt": "\n\n", "valid.txt": "A DT B-NP O\n"}),
    ("ptb", {"ptb.train.txt": "", "ptb.valid.txt": " a \n"}),
    ("multi30k", {"train.de": "", "train.en": "", "val.de": "Ja\n", "val.en": "Yes\n"}),
    ("tinyshakespeare", {"input.txt": ""}),
    ("sst2", {"train.tsv": "", "dev.tsv": "fine\t1\n"}),
])
def test_an_empty_release_file_is_refused(tmp_path, name, files):
    for file, text in files.items():
        (tmp_path / file).write_text(text)
    with pytest.raises(DataError, match=r"(no token lines|no lines|no rows|only 0 characters)"):
        prepare(name, tmp_path, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_an_archive_passed_as_source_says_to_unpack_it(tmp_path):
    (tmp_path / "simple-examples.tgz").write_bytes(gzip.compress(b"not unpacked"))
    with pytest.raises(DataError, match=r"simple-examples\.tgz: an archive; ptb\.train\.txt is "
                                        r"inside it \(unpack it first"):
        prepare("ptb", tmp_path / "simple-examples.tgz", tmp_path / "out")
