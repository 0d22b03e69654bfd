"""Penn Treebank as Mikolov preprocessed it for language modelling (``simple-examples.tgz`` of the
RNNLM toolkit, folder ``simple-examples/data``): ``ptb.{train,valid,test}.txt``, one sentence a
line, lower-cased, numbers as ``N``, rare words as ``<unk>``, a 10,000-word vocabulary.

The files are already in the format the language model reads; preparing checks them and copies
them byte for byte.
"""

from __future__ import annotations

from pathlib import Path

from pipelines.datasets import release
from seqtasks.errors import DataError

SOURCE = "https://www.fit.vutbr.cz/~imikolov/rnnlm/simple-examples.tgz"
TERMS = "LDC Penn Treebank (LDC99T42), research use; cite Mikolov et al. (2010)"
FOLDERS = ("data", "simple-examples/data", "ptb")
FILES = ("ptb.train.txt", "ptb.valid.txt", "ptb.test.txt")
OPTIONAL = {"ptb.test.txt"}
MAX_BYTES = 32 << 20  # train is 5.1 MB
MAX_TYPES = 10_000  # the release's vocabulary, <eos> included
REFERENCE_SHA256 = {
    "ptb.train.txt": "fcea919f6cf83f35d4d00c6cbf08040d13d4155226340912e2fef9c9c4102cbf",
    "ptb.valid.txt": "c9fe6985fe0d4ccb578183407d7668fc6066c20700cb4cf87d8ff1cc34df1bf2",
}


def prepare(source: Path) -> dict[str, str]:
    files = {}
    for name in FILES:
        path = release.find(source, name, FOLDERS, required=name not in OPTIONAL)
        if path is not None:
            files[name] = _checked(path, release.read_text(path, MAX_BYTES, encoding="ascii"))
    return files


def _checked(path: Path, text: str) -> str:
    types = set()
    if not text.strip():
        raise DataError(path, "no lines", hint="is this Mikolov's ptb file?")
    for number, line in enumerate(release.split_lines(text), start=1):
        if "\t" in line or not line.strip():
            raise DataError(path, "an empty line" if not line.strip() else "a tab in a line",
                            line=number, hint="is this Mikolov's ptb file?")
        types.update(line.split())
        if len(types) >= MAX_TYPES:
            raise DataError(path, f"more than {MAX_TYPES - 1:,} word types", line=number,
                            hint="Mikolov's files have a 10,000-word vocabulary, <eos> included")
    return text
