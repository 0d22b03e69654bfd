"""In-memory training data -> the task's file format, so training reads it the way it reads
files (the same checks) and a resumed run finds it again.

Each writer takes one task's natural form (``(text, label)`` pairs or a DataFrame, ``(tokens,
tags)`` sentences, strings, ``(source, target)`` pairs), checks every item with an error that
names it, and writes the file atomically under a name made of the split and a hash of its
content: the same data always lands in the same file, and other data never overwrites it.
"""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import pandas as pd

from seqtasks.errors import DataError
from seqtasks.io import atomic_path

LINE_BREAKS = ("\n", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")


def is_path(value) -> bool:
    return isinstance(value, (str, os.PathLike))


def _write(directory: Path, split: str, suffix: str, content: bytes) -> Path:
    """``directory/<split>-<sha256 prefix><suffix>``, written atomically unless it exists."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{split}-{hashlib.sha256(content).hexdigest()[:16]}{suffix}"
    if not path.exists():
        with atomic_path(path, suffix=suffix) as tmp:
            tmp.write_bytes(content)
    return path


def _items(examples, what: str, split: str) -> list:
    if isinstance(examples, (str, bytes, dict)) or not hasattr(examples, "__iter__"):
        raise DataError(f"{split} data", f"expected {what}, got {type(examples).__name__}",
                        hint="pass a file path, or a list of examples")
    items = list(examples)
    if not items:
        raise DataError(f"{split} data", "no examples", hint=f"pass {what}")
    return items


def _pair(item, index: int, what: str, split: str) -> tuple:
    if isinstance(item, (str, bytes)) or not isinstance(item, (tuple, list)) or len(item) != 2:
        raise DataError(f"{split} data", f"item {index} is {_describe(item)}, expected {what}")
    return item[0], item[1]


def _describe(item) -> str:
    if isinstance(item, (tuple, list)):
        return f"a {type(item).__name__} of {len(item)}"
    return f"a {type(item).__name__}"


def _text(value, index: int, field: str, split: str, one_line: bool = False,
          no_tab: bool = False) -> str:
    if not isinstance(value, str):
        raise DataError(f"{split} data", f"item {index}: {field} is {_describe(value)}, "
                        "expected str")
    if one_line and any(mark in value for mark in LINE_BREAKS):
        raise DataError(f"{split} data", f"item {index}: {field} holds a line break",
                        hint="this task's files hold one sentence a line: split or join it")
    if no_tab and "\t" in value:
        raise DataError(f"{split} data", f"item {index}: {field} holds a tab",
                        hint="replace tabs with spaces")
    return value


def labelled_table(examples, directory: Path, split: str, text_column: str = "text",
                   label_column: str = "label") -> Path:
    """``(text, label)`` pairs, or a DataFrame with ``text_column`` and ``label_column``, as a
    Parquet file (texts keep tabs, quotes and line breaks exactly)."""
    if isinstance(examples, pd.DataFrame):
        missing = [c for c in (text_column, label_column) if c not in examples.columns]
        if missing:
            raise DataError(f"{split} DataFrame", f"missing column '{missing[0]}'",
                            hint=f"found columns: {', '.join(map(str, examples.columns))}; "
                                 "set text_column= / label_column= to name others")
        frame = examples[[text_column, label_column]].reset_index(drop=True)
        if frame.empty:
            raise DataError(f"{split} DataFrame", "no rows")
    else:
        pairs = [_pair(item, i, "a (text, label) pair", split)
                 for i, item in enumerate(_items(examples, "(text, label) pairs", split))]
        for i, (text, label) in enumerate(pairs):
            if text is not None:
                _text(text, i, "the text", split)
            if label is None or isinstance(label, (list, tuple, dict)):
                raise DataError(f"{split} data", f"item {i}: the label is {_describe(label)}",
                                hint="every example needs one label (a str or a number)")
        frame = pd.DataFrame({text_column: [text for text, _ in pairs],
                              label_column: [str(label) for _, label in pairs]})
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return _write(directory, split, ".parquet", buffer.getvalue())


def tagged_sentences(examples, directory: Path, split: str, token_column: int = 0,
                     tag_column: int = -1) -> Path:
    """``(tokens, tags)`` sentences as a CoNLL column file with the config's token and tag
    columns (other columns ``_``), one token a line, a blank line between sentences."""
    columns = (token_column, tag_column)
    width = (max([c for c in columns if c >= 0], default=-1) + 1
             + max([-c for c in columns if c < 0], default=0))
    lines = []
    for i, item in enumerate(_items(examples, "(tokens, tags) sentences", split)):
        tokens, tags = _pair(item, i, "a (tokens, tags) sentence", split)
        tokens, tags = _token_list(tokens, i, "tokens", split), _token_list(tags, i, "tags", split)
        if len(tokens) != len(tags):
            raise DataError(f"{split} data", f"sentence {i} has {len(tokens)} tokens but "
                            f"{len(tags)} tags", hint="one tag per token")
        for token, tag in zip(tokens, tags):
            row = ["_"] * width
            row[token_column], row[tag_column] = token, tag
            lines.append(" ".join(row))
        lines.append("")
    return _write(directory, split, ".conll", "\n".join(lines).encode("utf-8"))


def _token_list(values, index: int, field: str, split: str) -> list[str]:
    if isinstance(values, (str, bytes)) or not isinstance(values, (list, tuple)):
        raise DataError(f"{split} data", f"sentence {index}: {field} is {_describe(values)}, "
                        "expected a list of strings")
    if not values:
        raise DataError(f"{split} data", f"sentence {index} has no tokens")
    for j, value in enumerate(values):
        if not isinstance(value, str) or not value or value.split() != [value]:
            raise DataError(f"{split} data", f"sentence {index}: {field}[{j}] is {value!r}",
                            hint="each token and tag is a non-empty string without spaces")
    return list(values)


def text_lines(examples, directory: Path, split: str, one_line: bool = True) -> Path:
    """Strings, one per line (a language model's corpus: ``one_line=False`` lets a text span
    several lines, as it would in a file)."""
    items = _items(examples, "a list of strings", split)
    texts = [_text(item, i, "the text", split, one_line=one_line) for i, item in enumerate(items)]
    return _write(directory, split, ".txt", "".join(f"{t}\n" for t in texts).encode("utf-8"))


def sentence_pairs(examples, directory: Path, split: str) -> Path:
    """``(source, target)`` pairs as a ``source<TAB>target`` file."""
    rows = []
    for i, item in enumerate(_items(examples, "(source, target) pairs", split)):
        source, target = _pair(item, i, "a (source, target) pair", split)
        rows.append(f"{_text(source, i, 'the source', split, True, True)}\t"
                    f"{_text(target, i, 'the target', split, True, True)}\n")
    return _write(directory, split, ".tsv", "".join(rows).encode("utf-8"))

