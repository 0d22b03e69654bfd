"""Preparing a release rebuilt from the reference copies (``../shared/data`` beside the clone)
gives those copies back byte for byte: the sha256 the recipes' results were measured on.

Skipped where that folder is absent (it is not distributed). Releases that are byte copies are
copied; SST-2 is written back in its source's TEXT<TAB>1|0 rows; MR's raw files are rebuilt by
inverting the seeded shuffle (the held-out test lines are stand-ins, so test.tsv is not compared).
"""

import gzip
import random
import shutil

import pytest

from helpers import ROOT
from pipelines.datasets import dataset, mr, prepare

SHARED = ROOT.parent / "shared" / "data"
pytestmark = pytest.mark.skipif(not SHARED.is_dir(), reason=f"{SHARED} is absent")


def assert_reference(name, source, out):
    written = {w.path.name: w for w in prepare(name, source, out, verify=True)}
    reference = dataset(name).REFERENCE_SHA256
    assert reference and all(written[file].sha256 == sha for file, sha in reference.items())


@pytest.mark.parametrize("name", ["conll2003", "ptb", "tinyshakespeare"])
def test_byte_copies(tmp_path, name):
    assert_reference(name, SHARED / name, tmp_path / "out")


def test_multi30k_from_its_gzipped_files(tmp_path):
    raw = tmp_path / "data" / "task1" / "raw"
    raw.mkdir(parents=True)
    for path in SHARED.joinpath("multi30k").glob("*.[de][en]"):
        (raw / f"{path.name}.gz").write_bytes(gzip.compress(path.read_bytes()))
    assert_reference("multi30k", tmp_path, tmp_path / "out")


def test_sst2_from_its_source_rows(tmp_path):
    source = tmp_path / "SST2"
    source.mkdir()
    for ours, theirs in (("train.tsv", "train.tsv"), ("valid.tsv", "dev.tsv")):
        rows = (SHARED / "sst2" / ours).read_text(encoding="utf-8").split("\n")[1:-1]
        (source / theirs).write_text("".join(
            f"{text}\t{1 if label == 'pos' else 0}\n"
            for label, text in (row.split("\t") for row in rows)), encoding="utf-8")
    assert_reference("sst2", tmp_path, tmp_path / "out")


def test_mr_from_raw_files_rebuilt_through_the_seeded_shuffle(tmp_path):
    kept = [row.split("\t") for name in ("train.tsv", "valid.tsv")
            for row in (SHARED / "mr" / name).read_text(encoding="utf-8").split("\n")[1:-1]]
    per_label = 5331
    order = list(range(2 * per_label))
    random.Random(mr.SEED).shuffle(order)  # position -> original index, as prepare shuffles
    raw = {"pos": [f"held out {i}" for i in range(per_label)],
           "neg": [f"held out {i}" for i in range(per_label)]}
    for position, (label, text) in enumerate(kept):
        original = order[position]
        assert label == ("pos" if original < per_label else "neg")
        raw[label][original % per_label] = text
    folder = tmp_path / "rt-polaritydata"
    folder.mkdir()
    for label, lines in raw.items():
        (folder / f"rt-polarity.{label}").write_bytes(
            "".join(f"{line} \n" for line in lines).encode("latin-1"))
    assert_reference("mr", tmp_path, tmp_path / "out")


@pytest.mark.slow
def test_imdb_from_one_file_a_review(tmp_path):
    unsup = tmp_path / "aclImdb" / "train" / "unsup"
    unsup.mkdir(parents=True)
    with (SHARED / "unlabelled" / "imdb_unsup.txt").open(encoding="utf-8") as reviews:
        for number, review in enumerate(reviews):
            (unsup / f"{number}_0.txt").write_text(review.rstrip("\n"), encoding="utf-8")
    assert_reference("imdb", tmp_path, tmp_path / "out")
    shutil.rmtree(unsup)


@pytest.mark.slow
def test_wikipedia_from_articles_in_wikiextractor_files(tmp_path):
    """Each article of the sample (its lines up to a blank line) becomes a <doc> with a title,
    about 1 MB of them a file, as WikiExtractor writes them."""
    part, size, article, files = [], 0, [], 0

    def write_part():
        folder = tmp_path / ("A" + "ABCDEFGHIJ"[files // 100])  # AA, AB, ... 100 files each
        folder.mkdir(exist_ok=True)
        (folder / f"wiki_{files % 100:02d}").write_text("".join(part), encoding="utf-8")

    with (SHARED / "unlabelled" / "enwiki_2015_sample.txt").open(encoding="utf-8",
                                                                  newline="\n") as sample:
        for line in sample:
            if line != "\n":
                article.append(line)
                continue
            part.append(f'<doc id="{len(part)}" url="" title="T">\nT\n\n{"".join(article)}</doc>\n')
            size, article = size + len(part[-1]), []
            if size > 1 << 19:
                write_part()
                part, size, files = [], 0, files + 1
    write_part()
    assert_reference("wikipedia", tmp_path, tmp_path / "out")
