"""Atomic file writes (nothing half-written is ever left where a reader could find it), and the
one way text files are read line by line (whatever their line endings)."""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

from seqtasks.errors import DataError


@functools.cache
def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _publish_permissions(path: Path) -> None:
    """mkstemp/mkdtemp create private (0600/0700) entries; give them the usual umask modes so a
    serving process running as another user can read what we export."""
    if path.is_dir():
        for root, dirs, files in os.walk(path):
            os.chmod(root, 0o777 & ~_umask())
            for name in files:
                os.chmod(os.path.join(root, name), 0o666 & ~_umask())
    else:
        os.chmod(path, 0o666 & ~_umask())


@contextlib.contextmanager
def atomic_path(path: str | Path, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success it is renamed onto ``path``.

    The temporary file lives in the same directory so the final ``os.replace`` is atomic; its
    name ends in ``suffix`` (for writers that check the extension). On any error, an interrupt
    included, the temporary file is removed and ``path`` is left untouched.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        _publish_permissions(tmp_path)
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def atomic_write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


@contextlib.contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """Yield a temporary directory next to ``path``; on success it is renamed to ``path``."""
    path = Path(path)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        yield tmp
        _publish_permissions(tmp)
        os.rename(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


# --- Reading text lines -------------------------------------------------------------------------

LINE_BREAK = re.compile(rb"\r\n|\r|\n")
MAX_LINE_BYTES = 64 << 20  # one line of a corpus or table; a file without line breaks is refused
READ_BLOCK = 1 << 20


def iter_text_lines(path: str | Path, max_line_bytes: int = MAX_LINE_BYTES
                    ) -> Iterator[tuple[int, str]]:
    """``(line number, text)`` for each line of a UTF-8 file, streamed, without its ending.

    LF, CRLF and lone CR (old Mac) endings all end a line, so every reader sees the same lines
    whatever system wrote the file; a UTF-8 byte-order mark is dropped. A missing file, bytes
    that are not UTF-8 and a line longer than ``max_line_bytes`` are DataErrors with the line.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "is a directory, expected a text file" if path.is_dir()
                        else "file not found")
    with path.open("rb") as handle:
        number, pending = 0, handle.read(3).removeprefix(b"\xef\xbb\xbf")
        while block := handle.read(READ_BLOCK):
            pending += block
            parts = LINE_BREAK.split(pending[:-1] if pending.endswith(b"\r") else pending)
            pending = parts.pop() + (b"\r" if pending.endswith(b"\r") else b"")
            for raw in parts:  # a trailing CR waits: it may be half of a CRLF
                number += 1
                yield number, _decoded(path, raw, number, max_line_bytes)
            if len(pending) > max_line_bytes:
                _decoded(path, pending, number + 1, max_line_bytes)
    parts = LINE_BREAK.split(pending)  # what is left: the last line(s), a held-back CR
    if parts[-1] == b"":
        parts.pop()  # the file ends with a line break
    for raw in parts:
        number += 1
        yield number, _decoded(path, raw, number, max_line_bytes)


def _decoded(path: Path, raw: bytes, number: int, max_line_bytes: int) -> str:
    if len(raw) > max_line_bytes:
        raise DataError(path, f"a line longer than {max_line_bytes:,} bytes", line=number,
                        hint="is this a text file with one record a line?")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise DataError(path, f"bytes are not valid UTF-8 at column {e.start + 1}", line=number,
                        hint="re-encode the file as UTF-8") from None
