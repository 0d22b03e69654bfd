"""SST-2: the Stanford Sentiment Treebank's sentence-level binary split (Socher et al., 2013), as
distributed in ``clairett/pytorch-sentiment-classification`` ``data/SST2/`` (train 6,920, dev 872,
test 1,821 sentences; neutral sentences removed, phrases not included).

Its rows are ``TEXT<TAB>LABEL`` (``1`` positive, ``0`` negative, no header); the sentiment task
reads ``label<TAB>text`` with a header and labels ``pos`` / ``neg``. Rows keep their order.
"""

from __future__ import annotations

from pathlib import Path

from pipelines.datasets import release
from seqtasks.errors import DataError

SOURCE = "https://github.com/clairett/pytorch-sentiment-classification/tree/master/data/SST2"
TERMS = "no license stated; research use, cite Socher et al. (EMNLP 2013)"
FOLDERS = ("data/SST2", "SST2")
SPLITS = {"train.tsv": "train.tsv", "valid.tsv": "dev.tsv", "test.tsv": "test.tsv"}
OPTIONAL = {"test.tsv"}
LABELS = {"1": "pos", "0": "neg"}
MAX_BYTES = 8 << 20  # the largest file, train.tsv, is 0.7 MB
REFERENCE_SHA256 = {
    "train.tsv": "3293980fafc0d7bb8e83207a33eb3d686ea3bec981c5836c17fd391125c5f33d",
    "valid.tsv": "fb3cd312469761e5d8a565e9fb2c56303ecb5ddce319fb5ca9631a1b5c6139c6",
}


def prepare(source: Path) -> dict[str, str]:
    files = {}
    for name, official in SPLITS.items():
        path = release.find(source, official, FOLDERS, required=name not in OPTIONAL)
        if path is not None:
            text = release.read_text(path, MAX_BYTES)
            files[name] = release.joined(["label\ttext", *_rows(path, text)])
    return files


def _rows(path: Path, text: str) -> list[str]:
    rows = []
    for number, line in enumerate(release.split_lines(text), start=1):
        sentence, tab, label = line.rpartition("\t")
        sentence, label = sentence.strip(), label.strip()
        if not tab or label not in LABELS or not sentence or "\t" in sentence:
            hint = f"this reads the SST2 files of {SOURCE}"
            if number == 1 and line == "label\ttext":
                hint = "already in the prepared format: use it as it is"
            raise DataError(path, f"expected 'TEXT<TAB>1' or 'TEXT<TAB>0', got {line[:60]!r}",
                            line=number, hint=hint)
        rows.append(f"{LABELS[label]}\t{sentence}")
    if not rows:
        raise DataError(path, "no rows", hint="is this the official release's file?")
    return rows
