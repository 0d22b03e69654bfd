"""Parallel corpora (translation pairs) and monolingual sentence files, one sentence per line.

A parallel corpus is either two aligned files (line i of the target translates line i of the
source, e.g. ``train.de`` / ``train.en``) or one TSV file with ``source<TAB>target`` on each line
(no header; further columns, such as Tatoeba's attribution, are ignored).

What is checked and what is filtered:

- errors (file:line, nothing is guessed): a missing, empty or non-UTF-8 file; aligned files with
  different line counts; a line that is empty on one side only (the files are probably shifted
  from there); a TSV line without a tab.
- filtered, and counted in ``ParallelText.skipped``: lines empty on both sides (``"blank"``), and
  with ``max_words`` pairs with more whitespace-separated words than that on either side
  (``"too_long"``). Evaluation data is read without ``max_words``, so every pair is scored.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Sequence, Union

from seqtasks.errors import DataError
from seqtasks.io import iter_text_lines

Paths = Union[str, Path, Sequence[Union[str, Path]]]


@dataclasses.dataclass
class ParallelText:
    sources: list[str]
    targets: list[str]
    path: str  # the file (TSV) or "SOURCE + TARGET"
    lines: list[int]  # physical line of each kept pair, for messages
    skipped: dict[str, int]  # {"blank": n, "too_long": m}

    def __len__(self) -> int:
        return len(self.sources)


def read_lines(path: str | Path) -> list[str]:
    """Every line of a UTF-8 text file, without line endings (LF, CRLF or lone CR)."""
    path = Path(path)
    if path.is_file() and path.stat().st_size == 0:
        raise DataError(path, "file is empty", hint="expected one sentence a line")
    return [line for _, line in iter_text_lines(path)]


def _as_path_list(paths: Paths) -> list[Path]:
    if isinstance(paths, (str, Path)):
        return [Path(paths)]
    paths = [Path(p) for p in paths]
    if len(paths) not in (1, 2):
        raise DataError(", ".join(map(str, paths)), f"expected one TSV file or two aligned files, "
                        f"got {len(paths)} files")
    return paths


def _read_aligned(source_path: Path, target_path: Path) -> tuple[list[str], list[str]]:
    sources, targets = read_lines(source_path), read_lines(target_path)
    if len(sources) != len(targets):
        longer = source_path if len(sources) > len(targets) else target_path
        raise DataError(longer, f"{source_path} has {len(sources)} lines but {target_path} has "
                        f"{len(targets)}", line=min(len(sources), len(targets)) + 1,
                        hint="the files must be aligned line by line")
    return sources, targets


def _read_tsv(path: Path) -> tuple[list[str], list[str]]:
    sources, targets = [], []
    for number, line in enumerate(read_lines(path), start=1):
        fields = line.split("\t")
        if len(fields) < 2 and line.strip():
            raise DataError(path, "no tab on this line", line=number,
                            hint="each line must be source<TAB>target (or pass two aligned files)")
        sources.append(fields[0])
        targets.append(fields[1] if len(fields) > 1 else "")
    return sources, targets


def read_parallel(paths: Paths, max_words: int | None = None) -> ParallelText:
    """Read translation pairs from a TSV file or two aligned files (see the module docstring)."""
    paths = _as_path_list(paths)
    if len(paths) == 2:
        sources, targets = _read_aligned(*paths)
        return _kept_pairs(sources, targets, (paths[0], paths[1]), max_words)
    sources, targets = _read_tsv(paths[0])
    return _kept_pairs(sources, targets, (paths[0], paths[0]), max_words)


def read_monolingual(path: Paths, max_words: int | None = None) -> ParallelText:
    """One sentence per line, as pairs whose target is the source (autoencoders). Blank lines and,
    with ``max_words``, longer sentences are skipped and counted."""
    paths = _as_path_list(path)
    if len(paths) != 1:
        raise DataError(", ".join(map(str, paths)), f"expected one text file, got {len(paths)}",
                        hint="an autoencoder reads one sentence per line from one file")
    lines = read_lines(paths[0])
    return _kept_pairs(lines, lines, (paths[0], paths[0]), max_words)


def _kept_pairs(sources: list[str], targets: list[str], paths: tuple[Path, Path],
                max_words: int | None) -> ParallelText:
    where = str(paths[0]) if paths[0] == paths[1] else f"{paths[0]} + {paths[1]}"
    data = ParallelText([], [], where, [], {"blank": 0, "too_long": 0})
    for number, (source, target) in enumerate(zip(sources, targets), start=1):
        source_empty, target_empty = not source.strip(), not target.strip()
        if source_empty and target_empty:
            data.skipped["blank"] += 1
            continue
        if source_empty or target_empty:
            side, path = ("source", paths[0]) if source_empty else ("target", paths[1])
            raise DataError(path, f"empty {side} sentence in a pair whose other side is not "
                            "empty", line=number, hint="the files are probably misaligned from "
                            "this line; or remove the pair from both sides")
        if max_words and max(len(source.split()), len(target.split())) > max_words:
            data.skipped["too_long"] += 1
            continue
        data.sources.append(source)
        data.targets.append(target)
        data.lines.append(number)
    if not data.sources:
        raise DataError(where, "no sentence pairs", hint=_nothing_kept_hint(data, max_words))
    return data


def _nothing_kept_hint(data: ParallelText, max_words: int | None) -> str:
    if data.skipped["too_long"]:
        return (f"all {data.skipped['too_long']} non-blank pairs have more than {max_words} "
                "words; raise max_words")
    return "every line is blank"
