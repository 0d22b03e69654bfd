"""MR: Pang & Lee's sentence polarity dataset v1.0 (5,331 positive and 5,331 negative movie-review
snippets, ACL 2005), files ``rt-polarity.pos`` / ``rt-polarity.neg`` (latin-1, one snippet a line).

MR has no official split; the one the recipes measured is seeded: positive lines then negative
lines, each ``strip()``ped, shuffled by ``random.Random(13)``, then the first 81 % train, the next
9 % valid and the last 10 % test.
"""

from __future__ import annotations

import random
from pathlib import Path

from pipelines.datasets import release
from seqtasks.errors import DataError

SOURCE = "https://www.cs.cornell.edu/people/pabo/movie-review-data/rt-polaritydata.tar.gz"
TERMS = "no license stated; research use, cite Pang & Lee (ACL 2005)"
FOLDERS = ("rt-polaritydata",)
POLARITIES = {"pos": "rt-polarity.pos", "neg": "rt-polarity.neg"}
SEED = 13
TRAIN_SHARE, VALID_END = 0.81, 0.90
MAX_BYTES = 8 << 20  # each raw file is about 0.6 MB
REFERENCE_SHA256 = {
    "train.tsv": "a215366a85c708f2e7f49487100f4d30a4a7bc16eb76960239ffcc1796c844ca",
    "valid.tsv": "a7d387fe40ba73b2e40de160238e540280ed0a9ba172181225c943f28d2870d7",
}


def prepare(source: Path) -> dict[str, str]:
    rows = []
    for label, official in POLARITIES.items():
        path = release.find(source, official, FOLDERS)
        text = _decoded(release.read_bytes(path, MAX_BYTES))
        rows += [f"{label}\t{snippet}" for snippet in _snippets(path, text)]
    random.Random(SEED).shuffle(rows)
    train_end, valid_end = int(TRAIN_SHARE * len(rows)), int(VALID_END * len(rows))
    parts = {"train.tsv": rows[:train_end], "valid.tsv": rows[train_end:valid_end],
             "test.tsv": rows[valid_end:]}
    return {name: release.joined(["label\ttext", *part]) for name, part in parts.items()}


def _decoded(data: bytes) -> str:
    """The official files are latin-1 (and not valid UTF-8), as the reference split read them; a
    copy re-encoded as UTF-8 gives the same text read as UTF-8 (latin-1 would garble it)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _snippets(path: Path, text: str) -> list[str]:
    snippets = []
    for number, line in enumerate(release.split_lines(text), start=1):
        snippet = line.strip()
        if not snippet or "\t" in snippet:
            raise DataError(path, "an empty line" if not snippet else "a tab inside a snippet",
                            line=number, hint="the official files hold one snippet on every "
                                              "line, without tabs")
        snippets.append(snippet)
    if not snippets:
        raise DataError(path, "no snippets", hint="is this the official release's file?")
    return snippets
