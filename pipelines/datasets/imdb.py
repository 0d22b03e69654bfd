"""The 50,000 unlabelled IMDB reviews of the Large Movie Review Dataset (Maas et al., 2011),
``aclImdb/train/unsup/<id>_0.txt``: text for pretraining language models and word vectors.

Reviews in the order of their id, one a line, HTML line breaks (``<br />``) turned into spaces
and runs of whitespace squeezed to one space. ``imdb_unsup.txt`` holds them all (for ``seqtasks
pretrain vectors``); ``imdb_train.txt`` / ``imdb_valid.txt`` are the same lines with the last
1,000 held out, the split the ``imdb-lm`` recipe measured.
"""

from __future__ import annotations

import re
from pathlib import Path

from pipelines.datasets import release
from seqtasks.errors import DataError

SOURCE = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
TERMS = "no license stated; research use, cite Maas et al. (ACL 2011)"
FOLDERS = ("train/unsup", "aclImdb/train/unsup")
REVIEW_NAME = re.compile(r"(\d+)_\d+\.txt")
# The release writes <br />; the one <BR> (a review quoting HTML) stays, as in the reference.
LINE_BREAK = re.compile(r"<br\s*/?>")
VALID_REVIEWS = 1000
MAX_REVIEWS = 100_000  # the release has 50,000
MAX_REVIEW_BYTES = 1 << 20  # the longest review is about 14 kB
MAX_TOTAL_BYTES = 512 << 20  # the 50,000 reviews hold about 67 MB
REFERENCE_SHA256 = {
    "imdb_unsup.txt": "18941ff8f4d99992a741239bb3a803e13a67b0a0ca692cfee7d8497171685001",
}


def prepare(source: Path) -> dict[str, str]:
    folder = _unsup_folder(source)
    reviews = [_review(path) for path in _review_files(folder)]
    if len(reviews) <= VALID_REVIEWS:
        raise DataError(folder, f"{len(reviews):,} reviews; the split holds out the last "
                                f"{VALID_REVIEWS:,}", hint="unpack the whole release")
    return {"imdb_unsup.txt": release.joined(reviews),
            "imdb_train.txt": release.joined(reviews[:-VALID_REVIEWS]),
            "imdb_valid.txt": release.joined(reviews[-VALID_REVIEWS:])}


def _unsup_folder(source: Path) -> Path:
    for folder in ("", *FOLDERS):
        if (source / folder).is_dir() and any((source / folder).glob("*_0.txt")):
            return source / folder
    raise DataError(source, "no train/unsup/<id>_0.txt reviews here",
                    hint="pass the aclImdb folder that aclImdb_v1.tar.gz unpacks to")


def _review_files(folder: Path) -> list[Path]:
    """The review files, by id; anything else in the folder is a mistake worth naming."""
    numbered, total_bytes = [], 0
    for count, path in enumerate(folder.iterdir(), start=1):
        if count > MAX_REVIEWS:
            raise DataError(folder, f"more than {MAX_REVIEWS:,} files",
                            hint="pass the aclImdb folder of the release")
        match = REVIEW_NAME.fullmatch(path.name)
        if match is None or not path.is_file():
            raise DataError(path, "not a review file (<id>_<rating>.txt)",
                            hint="the folder should hold only the release's reviews")
        total_bytes += path.stat().st_size
        if total_bytes > MAX_TOTAL_BYTES:
            raise DataError(folder, f"more than {MAX_TOTAL_BYTES:,} bytes of reviews",
                            hint="pass the aclImdb folder of the release")
        numbered.append((int(match[1]), path))
    return [path for _, path in sorted(numbered)]


def _review(path: Path) -> str:
    text = " ".join(LINE_BREAK.sub(" ", release.read_text(path, MAX_REVIEW_BYTES)).split())
    if not text:
        raise DataError(path, "an empty review", hint="download and unpack the release again")
    return text
