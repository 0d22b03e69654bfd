"""CoNLL column files: one token per line, whitespace-separated columns, a blank line between
sentences, ``-DOCSTART-`` lines between documents (CoNLL-2003: ``TOKEN POS CHUNK NER``).

Tags are checked against their scheme (given, or detected from the file) and converted to the
scheme the model uses. Errors name the file and the 1-based line of the offending token.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from seqtasks.text import tag_schemes
from seqtasks.errors import DataError
from seqtasks.io import iter_text_lines

DOCSTART = "-DOCSTART-"
INVALID_TAG_POLICIES = ("repair", "error")
REPAIRS_SHOWN = 5  # repaired sentences named by line in the warning


@dataclasses.dataclass
class TaggedSentences:
    tokens: list[list[str]]
    tags: list[list[str]]
    lines: list[list[int]]  # physical line of each token, for error messages
    documents: list[int]  # document number of each sentence (0 before the first -DOCSTART-)
    path: str
    scheme: str  # scheme of ``tags`` (after conversion)
    file_scheme: str  # scheme the file was written in (given or detected)
    repaired: int  # sentences whose tags broke ``file_scheme`` and were repaired
    repairs: list[str] = dataclasses.field(default_factory=list)  # the first few, file:line

    def repair_summary(self) -> str | None:
        """A warning about the repaired sentences (None when there are none)."""
        if not self.repaired:
            return None
        more = f", and {self.repaired - len(self.repairs)} more" \
            if self.repaired > len(self.repairs) else ""
        return (f"{self.path}: repaired the tags of {self.repaired} sentence"
                f"{'s' if self.repaired > 1 else ''} that broke {self.file_scheme} (as conlleval "
                f"reads them): {'; '.join(self.repairs)}{more}")

    def __len__(self) -> int:
        return len(self.tokens)

    def joined(self, other: "TaggedSentences") -> "TaggedSentences":
        """This file's sentences, then ``other``'s (a refit's train + valid); ``other``'s
        documents are numbered after this one's. Both must be in the same scheme."""
        if other.scheme != self.scheme:
            raise ValueError(f"cannot join {self.scheme} sentences with {other.scheme} ones")
        offset = max(self.documents, default=-1) + 1
        return dataclasses.replace(
            self, tokens=self.tokens + other.tokens, tags=self.tags + other.tags,
            lines=self.lines + other.lines,
            documents=self.documents + [offset + d for d in other.documents],
            path=f"{self.path} + {other.path}", repaired=self.repaired + other.repaired,
            repairs=self.repairs + other.repairs)


def read_conll(path: str | Path, token_column: int = 0, tag_column: int = -1,
               file_scheme: str = "auto", scheme: str | None = None,
               invalid_tags: str = "repair") -> TaggedSentences:
    """Read sentences of (token, tag) from a column file.

    ``file_scheme``: iob1 | iob2 | iobes, or auto to detect it. ``scheme``: convert the tags to
    this scheme (default: keep ``file_scheme``). ``invalid_tags``: ``repair`` sequences that break
    the file's scheme (an I- after O in IOB2 becomes B-, as conlleval reads it) or report them as
    an ``error``.
    """
    if invalid_tags not in INVALID_TAG_POLICIES:
        raise ValueError(f"Unknown invalid_tags '{invalid_tags}'. "
                         f"Expected one of: {', '.join(INVALID_TAG_POLICIES)}")
    data = _read_columns(Path(path), token_column, tag_column)
    prefix_scheme = "iobes" if file_scheme == "auto" else file_scheme
    for tags, lines in zip(data.tags, data.lines):
        for tag, line in zip(tags, lines):
            try:
                tag_schemes.split_tag(tag, prefix_scheme)
            except ValueError as e:
                raise DataError(path, str(e), line=line,
                                hint=f"tags are read from column {tag_column} "
                                     "(set tag_column= or file_scheme= to change)") from None
    data.file_scheme = tag_schemes.detect(data.tags) if file_scheme == "auto" else file_scheme
    data.scheme = scheme or data.file_scheme
    for index, (tags, lines) in enumerate(zip(data.tags, data.lines)):
        problem = tag_schemes.first_invalid(tags, data.file_scheme)
        if problem and invalid_tags == "error":
            position, message = problem
            raise DataError(path, message, line=lines[position],
                            hint="fix the tag, or set invalid_tags=repair to read it the way "
                                 "conlleval does")
        if problem is not None:
            data.repaired += 1
            if len(data.repairs) < REPAIRS_SHOWN:
                data.repairs.append(f"line {lines[problem[0]]}: {problem[1]}")
        if problem or data.scheme != data.file_scheme:
            data.tags[index] = tag_schemes.convert(tags, data.scheme)
    return data


def tag_set(data: TaggedSentences) -> list[str]:
    """A model's tags: O, then every prefix of ``data.scheme`` for each entity type in ``data``
    (all of them, so that a type seen only as S- in training may still be decoded as B- E-)."""
    types = sorted({tag_schemes.split_tag(tag)[1] for tags in data.tags for tag in tags} - {""})
    return [tag_schemes.OUTSIDE] + [f"{prefix}-{name}" for name in types
                                    for prefix in tag_schemes.PREFIXES[data.scheme]]


def check_known_tags(data: TaggedSentences, tags: list[str]) -> None:
    """Raise on the first tag of ``data`` outside ``tags`` (an entity type training never saw)."""
    known = set(tags)
    for sentence, lines in zip(data.tags, data.lines):
        for tag, line in zip(sentence, lines):
            if tag not in known:
                types = sorted({tag_schemes.split_tag(t)[1] for t in tags} - {""})
                raise DataError(data.path, f"entity type '{tag_schemes.split_tag(tag)[1]}' never "
                                "occurs in the training data", line=line,
                                hint=f"known types: {', '.join(types) or 'none'}")


def _read_columns(path: Path, token_column: int, tag_column: int) -> TaggedSentences:
    """Split the file into sentences of (token, tag, line); checks encoding and column counts."""
    if not path.is_file():
        raise DataError(path, "directory, expected a file" if path.is_dir() else "file not found")
    data = TaggedSentences([], [], [], [], str(path), "", "", 0)
    tokens, tags, lines = [], [], []
    document, width, width_line = 0, None, None

    def end_sentence():
        if tokens:
            data.tokens.append(list(tokens))
            data.tags.append(list(tags))
            data.lines.append(list(lines))
            data.documents.append(document)
            tokens.clear()
            tags.clear()
            lines.clear()

    for number, line in iter_text_lines(path):  # LF, CRLF and lone CR alike
        columns = line.split()
        if not columns:
            end_sentence()
            continue
        if columns[0] == DOCSTART:
            end_sentence()
            document += 1
            continue
        if width is None:
            width, width_line = len(columns), number
            _check_column_index(path, number, width, token_column, "token_column")
            _check_column_index(path, number, width, tag_column, "tag_column")
            if token_column % width == tag_column % width:
                raise DataError(path, f"{width} column{'s' if width > 1 else ''}: a token "
                                "line needs a token and a tag", line=number,
                                hint="separate them with a space or a tab, e.g. 'Bonn B-LOC'")
        elif len(columns) != width:
            raise DataError(path, f"{len(columns)} columns, expected {width} as on line "
                            f"{width_line}", line=number,
                            hint="columns are separated by spaces or tabs, so a token cannot "
                                 "contain one; sentences end with an empty line")
        tokens.append(columns[token_column])
        tags.append(columns[tag_column])
        lines.append(number)
    end_sentence()
    if not data.tokens:
        raise DataError(path, "no sentences found",
                        hint="expected one 'TOKEN ... TAG' line per token, an empty line between "
                             "sentences")
    return data


def _check_column_index(path: Path, line: int, width: int, index: int, option: str) -> None:
    if not -width <= index < width:
        raise DataError(path, f"{width} columns, so there is no column {index}", line=line,
                        hint=f"set {option}= to a column from 0 to {width - 1} (or -1 for the last)")
