"""Multi30k task 1 (Elliott et al., 2016): English Flickr30k captions with professional German
translations, ``multi30k/dataset`` folder ``data/task1/raw/``: ``train``, ``val`` and
``test_2016_flickr`` in ``.de`` and ``.en``, gzipped. Line i of the German file translates line i
of the English one.

Preparing unpacks them (text unchanged) after checking that both sides of a split have the same
number of lines and no empty line; the translation task reads the two aligned files.
"""

from __future__ import annotations

from pathlib import Path

from pipelines.datasets import release
from seqtasks.errors import DataError

SOURCE = "https://github.com/multi30k/dataset/tree/master/data/task1/raw"
TERMS = "non-commercial research and education; cite Elliott et al. (2016)"
FOLDERS = ("data/task1/raw", "task1/raw", "raw")
SPLITS = ("train", "val", "test_2016_flickr")
OPTIONAL = {"test_2016_flickr"}
LANGUAGES = ("de", "en")
MAX_BYTES = 32 << 20  # train.de is 2.1 MB unpacked
REFERENCE_SHA256 = {
    "train.de": "2c2b73fd2b548fbcde3a875e0a78d6ee94d498bfdee6bd3eae3945779e9ddf72",
    "train.en": "460a15fbd157e34a7a9957ee388c1ca247fe47af3ef25fb50442af6c274e0fc6",
    "val.de": "660e09eb7e1da2f856ea13ee5ad3cf6d36b3d5b0b733c857e94c5747a3dfc660",
    "val.en": "1f2a23d992769b5b3d209b0a10dd0b77c08cceb1f20dfb97ed0aafa49d107227",
}


def prepare(source: Path) -> dict[str, str]:
    files = {}
    for split in SPLITS:
        paths = {language: _find(source, f"{split}.{language}", split not in OPTIONAL)
                 for language in LANGUAGES}
        if None in paths.values():
            if any(paths.values()):
                present = next(path for path in paths.values() if path)
                raise DataError(present, "has no partner file in the other language",
                                hint=f"put both {split}.de and {split}.en in the folder")
            continue
        counts = {}
        for language, path in paths.items():
            text = release.read_text(path, MAX_BYTES)
            counts[language] = _count_lines(path, text)
            files[f"{split}.{language}"] = text
        if len(set(counts.values())) > 1:
            shorter = min(counts, key=counts.get)
            raise DataError(paths[shorter], f"{counts[shorter]:,} lines but its partner has "
                                            f"{max(counts.values()):,}",
                            hint="line i of each file must translate line i of the other")
    return files


def _find(source: Path, name: str, required: bool) -> Path | None:
    """The unpacked file, else the release's ``.gz``."""
    return release.find(source, name, FOLDERS, required=False) \
        or release.find(source, f"{name}.gz", FOLDERS, required=required)


def _count_lines(path: Path, text: str) -> int:
    lines = release.split_lines(text)
    if not lines:
        raise DataError(path, "no lines", hint="is this the official release's file?")
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            raise DataError(path, "an empty line", line=number,
                            hint="every line holds one sentence")
    return len(lines)
