"""Check a word-vectors file, streamed, before gensim reads it: every defect is a DataError
naming the file and line.

gensim reads good files well, but a bad one becomes a traceback, a ``None`` word (a repeated
word), a ``MemoryError`` (a header claiming 2e9 rows, allocated before a row is read) or NaN
weights that surface epochs later as a NaN loss. So one pass over the file, holding one line (or
one binary vector) at a time plus the words seen, checks what gensim trusts: the compression
matches the name, the header's claims are possible, each row has the header's number of finite
numbers, no word repeats, and the file holds exactly the rows the header announces.
"""

from __future__ import annotations

import bz2
import gzip
import zlib
from pathlib import Path

import numpy as np

from seqtasks.errors import DataError

FIX_HINT = "use a GloVe / word2vec / fastText text file (one word and its numbers a line) or a " \
           "word2vec .bin file, e.g. one written by 'seqtasks pretrain vectors'"
MAX_DIM = 100_000  # published vectors have 25-1,000 dimensions
MAX_LINE_BYTES = 16 << 20  # a text row: MAX_DIM numbers of ~12 characters, with room to spare
MAX_WORD_BYTES = 10_000  # a binary row's word
OPENERS = {".gz": gzip.open, ".bz2": bz2.open}
MAGIC = {b"\x1f\x8b": ".gz", b"BZh": ".bz2", b"PK\x03\x04": ".zip", b"\xfd7zXZ\x00": ".xz",
         b"\x28\xb5\x2f\xfd": ".zst"}
READ_ERRORS = (EOFError, OSError, zlib.error, ValueError)  # truncated or corrupt archives


def open_vectors(path: Path):
    return OPENERS.get(path.suffix, open)(path, "rb")


def is_binary(path: Path) -> bool:
    return ".bin" in path.suffixes


def parse_header(line: bytes) -> tuple[int, int] | None:
    """(count, dim) when ``line`` is a word2vec header ("400000 100"), else None."""
    fields = line.split()
    if len(fields) == 2 and all(field.isdigit() for field in fields):
        return int(fields[0]), int(fields[1])
    return None


def _archive_problem(path: Path, e: Exception, line: int) -> DataError:
    return DataError(path, f"the {path.suffix} archive is truncated or corrupt after line "
                     f"{line - 1} ({e})", line=line, hint="download or compress the file again")


def check_compression(path: Path) -> None:
    """The file's compression (by its first bytes) is the one its name says."""
    if not path.is_file():
        raise DataError(path, "no such vectors file", hint=FIX_HINT)
    with open(path, "rb") as f:
        start = f.read(8)
    actual = next((suffix for magic, suffix in MAGIC.items() if start.startswith(magic)), None)
    if actual not in (None, *OPENERS):
        raise DataError(path, f"a {actual} archive: vectors are read plain, .gz or .bz2", line=1,
                        hint="decompress it, or recompress it with gzip")
    if actual != (path.suffix if path.suffix in OPENERS else None):
        said = f"named {path.suffix}" if path.suffix else "named without an extension"
        raise DataError(path, f"{'a ' + actual + ' archive' if actual else 'not compressed'}, "
                        f"but {said}", line=1,
                        hint=f"rename it to end in {actual}" if actual else
                        f"rename it without {path.suffix}, or compress it")


def first_line(path: Path) -> tuple[bytes, int]:
    """The first line of ``path`` (bytes) and the number of fields in it; a missing, empty or
    mis-compressed file is a DataError."""
    check_compression(path)
    try:
        with open_vectors(path) as f:
            line = f.readline(MAX_LINE_BYTES + 1)
    except READ_ERRORS as e:
        raise _archive_problem(path, e, 1) from None
    if not line.strip():
        raise DataError(path, "empty vectors file", line=1, hint=FIX_HINT)
    return line, len(line.split())


def check_header(path: Path, count: int, dim: int) -> None:
    """A header's claims, before anything is allocated for them."""
    if count < 1:
        raise DataError(path, "the header says the file holds no vectors", line=1, hint=FIX_HINT)
    if not 1 <= dim <= MAX_DIM:
        raise DataError(path, f"the header says {dim}-dimensional vectors; at most {MAX_DIM:,} "
                        "are read", line=1, hint=FIX_HINT)
    if path.suffix in OPENERS:
        return  # the streamed pass counts the rows the archive really holds
    per_row = dim * 4 + 2 if is_binary(path) else dim * 2 + 1  # a 1-byte word; "x " per number
    if count * per_row > path.stat().st_size:
        raise DataError(path, f"the header claims {count:,} vectors of {dim} numbers (at least "
                        f"{count * per_row:,} bytes), but the file has "
                        f"{path.stat().st_size:,} bytes", line=1,
                        hint="fix the 'count dim' first line, or get the whole file")


def _number_problem(word: str, values: np.ndarray) -> str | None:
    bad = ~np.isfinite(values)
    if bad.any():
        position = int(np.argmax(bad))
        return (f"'{word}' has a non-finite value ({values[position]}) at position "
                f"{position + 1}")
    return None


def _seen(path: Path, words: dict[str, int], word: str, line: int, label: str = "") -> None:
    if word in words:
        raise DataError(path, f"{label}'{word}' is repeated: also on line {words[word]}", line=line,
                        hint="keep one row per word")
    words[word] = line


def locate_text_problem(path: Path, header: tuple[int, int] | None) -> None:
    """Raise on the first bad line of a text vectors file (see the module docstring)."""
    count, dim = header if header else (None, None)
    words: dict[str, int] = {}
    number = 1 if header else 0
    try:
        with open_vectors(path) as f:
            if header:
                f.readline(MAX_LINE_BYTES + 1)
            while raw := f.readline(MAX_LINE_BYTES + 1):
                number += 1
                dim = _check_text_row(path, raw, number, dim, header is not None, words)
    except READ_ERRORS as e:
        raise _archive_problem(path, e, number + 1) from None
    if count is not None and len(words) != count:
        raise DataError(path, f"the header says {count} vectors, the file holds {len(words)}",
                        line=1, hint="fix the 'count dim' first line")


def _check_text_row(path: Path, raw: bytes, number: int, dim: int | None, has_header: bool,
                    words: dict[str, int]) -> int:
    if len(raw) > MAX_LINE_BYTES:
        raise DataError(path, f"a line longer than {MAX_LINE_BYTES:,} bytes", line=number,
                        hint=FIX_HINT)
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        binary = " (this looks like a word2vec binary file: name it .bin)" if has_header else ""
        raise DataError(path, f"bytes that are not UTF-8 at column {e.start + 1}{binary}",
                        line=number, hint=FIX_HINT) from None
    fields = line.rstrip(" \r\n").split(" ")
    if fields == [""]:
        raise DataError(path, "empty line among the vectors", line=number, hint=FIX_HINT)
    if dim is None:
        dim = len(fields) - 1
        if dim < 1:
            raise DataError(path, "a word without numbers", line=number, hint=FIX_HINT)
        if dim > MAX_DIM:
            raise DataError(path, f"{dim:,} numbers; at most {MAX_DIM:,} are read", line=number,
                            hint=FIX_HINT)
    if len(fields) != dim + 1:
        raise DataError(path, f"{len(fields) - 1} numbers where the "
                        f"{'header' if has_header else 'first row'} says {dim}", line=number,
                        hint=FIX_HINT)
    try:
        with np.errstate(over="ignore"):  # 1e39 overflows float32 to inf, which is reported
            values = np.asarray(fields[1:], dtype=np.float32)
    except ValueError:
        raise DataError(path, f"not a number in the vector of '{fields[0]}'", line=number,
                        hint=FIX_HINT) from None
    problem = _number_problem(fields[0], values)
    if problem:
        raise DataError(path, problem, line=number, hint="remove or fix the row")
    _seen(path, words, fields[0], number)
    return dim


def check_not_text(path: Path, dim: int) -> None:
    """A ``.bin`` file whose first row reads as a text row is a text file misnamed."""
    try:
        with open_vectors(path) as f:
            f.readline(MAX_LINE_BYTES + 1)
            fields = f.readline(MAX_LINE_BYTES + 1).decode("utf-8").split()
            np.asarray(fields[1:], dtype=np.float32)
    except (UnicodeDecodeError, ValueError, *READ_ERRORS):
        return
    if len(fields) == dim + 1:
        raise DataError(path, "a text vectors file (its rows are words and numbers) named .bin",
                        line=2, hint="rename it to .txt or .vec")


class _Bytes:
    """Buffered reads from a binary stream: up to a delimiter, or an exact length."""

    def __init__(self, handle):
        self.handle, self.buffer = handle, bytearray()

    def _fill(self, n: int) -> bool:
        while len(self.buffer) < n:
            block = self.handle.read(max(1 << 20, n - len(self.buffer)))
            if not block:
                return False
            self.buffer += block
        return True

    def take(self, n: int) -> bytes | None:
        if not self._fill(n):
            return None
        out = bytes(self.buffer[:n])
        del self.buffer[:n]
        return out

    def until_space(self, limit: int) -> bytes | None:
        """The bytes before the next b" " (which is consumed); None at the end of the stream;
        more than ``limit`` bytes when no space comes within ``limit``."""
        while (end := self.buffer.find(b" ", 0, limit + 1)) < 0:
            if len(self.buffer) > limit:
                return bytes(self.buffer[:limit + 1])
            if not self._fill(len(self.buffer) + 1):
                return None
        out = bytes(self.buffer[:end])
        del self.buffer[:end + 1]
        return out


def locate_binary_problem(path: Path, count: int, dim: int) -> None:
    """Raise on the first bad vector of a word2vec binary file: truncated, a word that is not
    UTF-8 or too long, a non-finite value, a repeated word, rows beyond the header's count."""
    check_not_text(path, dim)
    words: dict[str, int] = {}
    number = 1
    try:
        with open_vectors(path) as f:
            f.readline(MAX_LINE_BYTES + 1)
            stream = _Bytes(f)
            for row in range(count):
                number = row + 2
                word = stream.until_space(MAX_WORD_BYTES)
                vector = stream.take(dim * 4) if word is not None else None
                if vector is None:
                    raise DataError(path, f"the file ends after {row:,} of the {count:,} "
                                    "vectors its header claims", line=number,
                                    hint="get the whole file, or fix the 'count dim' first line")
                _check_binary_row(path, word, vector, number, words)
            rest = stream.take(1)
            while rest is not None and rest.isspace():
                rest = stream.take(1)
    except READ_ERRORS as e:
        raise _archive_problem(path, e, number) from None
    if rest is not None:
        raise DataError(path, f"more data after the {count:,} vectors the header claims",
                        line=count + 2, hint="fix the 'count dim' first line")


def _check_binary_row(path: Path, word: bytes, vector: bytes, number: int,
                      words: dict[str, int]) -> None:
    if len(word) > MAX_WORD_BYTES:
        raise DataError(path, f"no word of at most {MAX_WORD_BYTES:,} bytes before the vector "
                        f"(vector {number - 1})", line=number, hint=FIX_HINT)
    try:
        text = word.lstrip(b"\n").decode("utf-8")
    except UnicodeDecodeError as e:
        raise DataError(path, f"vector {number - 1}: its word has bytes that are not UTF-8 at "
                        f"column {e.start + 1}", line=number, hint=FIX_HINT) from None
    problem = _number_problem(text, np.frombuffer(vector, dtype="<f4"))
    if problem:
        raise DataError(path, f"vector {number - 1}: {problem}", line=number,
                        hint="remove or fix the row")
    _seen(path, words, text, number, label=f"vector {number - 1}: ")
