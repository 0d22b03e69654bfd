"""Tiny Shakespeare (Karpathy's char-rnn, ``data/tinyshakespeare/input.txt``): 1,115,394
characters of Shakespeare's plays. The split the recipe measured: the first 90 % of the
characters train, the rest validate (``text[:int(0.9 * len(text))]``), cut mid-line as it falls.
"""

from __future__ import annotations

from pathlib import Path

from pipelines.datasets import release
from seqtasks.errors import DataError

SOURCE = ("https://raw.githubusercontent.com/karpathy/char-rnn/"
          "6f9487a6fe5b420b7ca9afb0d7c078e37c1d1b4e/data/tinyshakespeare/input.txt")
TERMS = "public-domain text (char-rnn repository: MIT)"
FOLDERS = ("tinyshakespeare", "data/tinyshakespeare")
TRAIN_SHARE = 0.9
MAX_BYTES = 16 << 20  # the file is 1.1 MB
MIN_CHARS = 10  # both parts must hold text
REFERENCE_SHA256 = {  # cut from input.txt with sha256 86c4e6aa...565ed
    "train.txt": "a9e24e23a1ec77744dad26844bfd5a09b6e041954e1eef0000e7f24cba6db735",
    "valid.txt": "c54f3753a4e6e3c3d1759212815a7caf826e68a33021b25312984400bed40a1f",
}


def prepare(source: Path) -> dict[str, str]:
    path = release.find(source, "input.txt", FOLDERS)
    text = release.read_text(path, MAX_BYTES)
    if len(text) < MIN_CHARS:
        raise DataError(path, f"only {len(text)} characters", hint="is this input.txt?")
    cut = int(TRAIN_SHARE * len(text))
    return {"train.txt": text[:cut], "valid.txt": text[cut:]}
