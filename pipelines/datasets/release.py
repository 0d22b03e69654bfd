"""Reading an official release that the user downloaded, and writing the prepared files.

Every dataset module turns the files of its release into ``{file name: text}``; this module finds
those files, reads them within a size limit (checked before a byte is read or decompressed),
reports malformed lines as ``FILE:LINE`` and writes the results atomically, with their sha256
next to the reference copy's so a user can see that the result is the one the recipes measured.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from pathlib import Path

from seqtasks.errors import DataError
from seqtasks.io import atomic_path

ARCHIVES = (".tar.gz", ".tgz", ".tar", ".zip", ".tar.bz2")


def find(source: Path, name: str, folders: tuple[str, ...], required: bool = True
         ) -> Path | None:
    """``name`` in ``source`` or in one of ``folders`` below it (the release's own layout), or
    ``source`` itself when it is that file."""
    if source.is_file():
        return source if source.name == name else _missing(source, name, folders, required)
    for folder in ("", *folders):
        path = source / folder / name
        if path.is_file():
            return path
    return _missing(source, name, folders, required)


def _missing(source: Path, name: str, folders: tuple[str, ...], required: bool) -> None:
    if not required:
        return None
    if not source.exists():
        raise DataError(source, "not found", hint="pass the folder you unpacked the release into")
    if source.is_file() and source.name.endswith(ARCHIVES):
        raise DataError(source, f"an archive; {name} is inside it",
                        hint="unpack it first (tar xzf FILE, or unzip FILE) and pass the folder")
    places = ", ".join(f"{folder}/{name}" for folder in folders)
    raise DataError(source, f"no {name} here" + (f" (nor {places})" if places else ""),
                    hint="pass the folder that holds the release's files")


def read_bytes(path: Path, max_bytes: int) -> bytes:
    """The file's bytes; a file larger than ``max_bytes`` (or, for ``.gz``, one that unpacks to
    more) is refused before it is read."""
    size = path.stat().st_size
    if size > max_bytes:
        raise DataError(path, f"{size:,} bytes, more than this release's {max_bytes:,}",
                        hint="is this the right file?")
    if path.suffix != ".gz":
        return path.read_bytes()
    try:
        with gzip.open(path, "rb") as handle:
            data = handle.read(max_bytes + 1)
    except (OSError, EOFError) as e:
        raise DataError(path, f"not a readable gzip file ({e})",
                        hint="download it again") from None
    if len(data) > max_bytes:
        raise DataError(path, f"unpacks to more than this release's {max_bytes:,} bytes",
                        hint="is this the right file?")
    return data


def decode(path: Path, data: bytes, encoding: str = "utf-8") -> str:
    """``data`` as text without a UTF-8 byte-order mark; bytes that are not ``encoding`` are a
    DataError naming their line."""
    try:
        return data.decode(encoding).removeprefix("\ufeff")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise DataError(path, f"bytes are not valid {encoding} ({e.reason})", line=line,
                        hint="is this the official release's file?") from None


def read_text(path: Path, max_bytes: int, encoding: str = "utf-8") -> str:
    return decode(path, read_bytes(path, max_bytes), encoding)


def split_lines(text: str) -> list[str]:
    """Lines without their ``\\n`` (a ``\\r`` before it goes too); a final line break ends the
    last line rather than starting an empty one."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]


def joined(lines: list[str]) -> str:
    """Lines as a text file: each ends with ``\\n``."""
    return "".join(f"{line}\n" for line in lines)


@dataclass(frozen=True)
class Written:
    """One prepared file, as the CLI reports it."""
    path: Path
    lines: int
    bytes: int
    sha256: str
    reference_sha256: str | None

    @property
    def matches_reference(self) -> bool | None:
        return None if self.reference_sha256 is None else self.sha256 == self.reference_sha256

    def describe(self) -> str:
        note = {True: "the reference copy's", False: f"the reference copy has "
                f"{self.reference_sha256}", None: "no reference copy"}[self.matches_reference]
        return (f"wrote {self.path}: {self.lines:,} lines, {self.bytes:,} bytes, "
                f"sha256 {self.sha256} ({note})")


def write_files(out: Path, files: dict[str, str], reference: dict[str, str]) -> list[Written]:
    """Each text as UTF-8 under ``out``, atomically, one file at a time."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in files.items():
        data = text.encode("utf-8")
        with atomic_path(out / name) as tmp:
            tmp.write_bytes(data)
        lines = data.count(b"\n") + (not data.endswith(b"\n") and bool(data))
        written.append(Written(out / name, lines, len(data),
                               hashlib.sha256(data).hexdigest(), reference.get(name)))
    return written
