"""CoNLL-2003 English NER (Tjong Kim Sang & De Meulder, 2003): Reuters news, one token a line as
``TOKEN POS CHUNK NER``, a blank line between sentences, ``-DOCSTART-`` lines between documents.

Two layouts of the release are read: the shared task's own ``eng.train`` / ``eng.testa`` /
``eng.testb`` (built from the Reuters corpus with the task's scripts; tags in IOB1) and the widely
used copy ``train.txt`` / ``valid.txt`` / ``test.txt`` (tags already IOB2). The result is always
IOB2 (every entity starts with ``B-``) in both tag columns; entity spans are unchanged, and the
lines, their order and their ends are kept byte for byte otherwise.
"""

from __future__ import annotations

import re
from pathlib import Path

from pipelines.datasets import release
from seqtasks.errors import DataError

SOURCE = "https://www.clips.uantwerpen.be/conll2003/ner/"
TERMS = "Reuters RCV1 agreement, research use; cite Tjong Kim Sang & De Meulder (2003)"
FOLDERS = ("CONLL2003", "conll2003", "ner")
LAYOUTS = ({"train.txt": "train.txt", "valid.txt": "valid.txt", "test.txt": "test.txt"},
           {"train.txt": "eng.train", "valid.txt": "eng.testa", "test.txt": "eng.testb"})
OPTIONAL = {"test.txt"}
COLUMNS = 4
TAG = re.compile(r"O|[BI]-[A-Za-z]+")
TAG_COLUMNS = (2, 3)  # CHUNK and NER
MAX_BYTES = 32 << 20  # train is 3.3 MB
REFERENCE_SHA256 = {
    "train.txt": "c99b26852dabf57ca9d30a0e892b84544cc8962003151e14a71077c55dc66db5",
    "valid.txt": "f1f6469322876887de1d04acd43c59b02f59d5b02acf42c027132fa1bf349cb2",
}


def prepare(source: Path) -> dict[str, str]:
    layout = next((names for names in LAYOUTS
                   if release.find(source, names["train.txt"], FOLDERS, required=False)),
                  LAYOUTS[0])
    files = {}
    for name, official in layout.items():
        path = release.find(source, official, FOLDERS, required=name not in OPTIONAL)
        if path is not None:
            files[name] = _as_iob2(path, release.read_text(path, MAX_BYTES))
    return files


def _as_iob2(path: Path, text: str) -> str:
    lines = text.split("\n")  # not split_lines: a missing final line break stays missing
    previous = [None] * len(TAG_COLUMNS)  # the last tag of each column in this sentence
    tokens = 0
    for number, line in enumerate(lines, start=1):
        columns = line.rstrip("\r").split(" ")
        if line.strip() == "" or columns[0] == "-DOCSTART-":
            previous = [None] * len(TAG_COLUMNS)
            continue
        if len(columns) != COLUMNS or not all(TAG.fullmatch(columns[i]) for i in TAG_COLUMNS):
            raise DataError(path, f"expected 'TOKEN POS CHUNK NER' with IOB tags, got "
                                  f"{line[:60]!r}", line=number,
                            hint="one token a line, 4 columns separated by single spaces")
        for slot, column in enumerate(TAG_COLUMNS):
            columns[column] = _iob2_tag(columns[column], previous[slot])
            previous[slot] = columns[column]
        tokens += 1
        lines[number - 1] = " ".join(columns) + ("\r" if line.endswith("\r") else "")
    if not tokens:
        raise DataError(path, "no token lines", hint="is this the official release's file?")
    return "\n".join(lines)


def _iob2_tag(tag: str, previous: str | None) -> str:
    """IOB1's ``I-X`` that opens an entity (after ``O``, another type or a sentence start)
    becomes ``B-X``; every other tag is already IOB2."""
    if tag.startswith("I-") and (previous is None or previous == "O"
                                 or previous[2:] != tag[2:]):
        return "B-" + tag[2:]
    return tag
