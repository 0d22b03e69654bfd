"""The export layout on disk (TF Serving's ``ROOT/<version>/``) and its metadata file:
listing versions, resolving a model directory, reading ``seqtasks.json``.

``list_versions`` is the one place that decides what counts as a version folder, for
``predict``/``evaluate`` (newest export), the exporter (next number) and the server's poller alike.
A version folder's name is ASCII digits (``00000123`` is 123, as in TF Serving) within int64; any
other entry is skipped with the reason, never raised on: ``str.isdigit()`` accepts ``'²'``, which
``int()`` refuses, and a folder can vanish between the listing and a look inside it.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import stat
from pathlib import Path

from seqtasks.errors import ModelError

METADATA_FILE = "seqtasks.json"
SAVED_MODEL_FILES = ("saved_model.pb", "saved_model.pbtxt")
VERSION_NAME = re.compile(r"[0-9]+")  # ASCII only: re's \d and str.isdigit() take any script
MAX_VERSION = 2**63 - 1  # versions are int64 in TF Serving's protos

# What a complete version folder holds: one file of each group.
SAVED_MODEL = (SAVED_MODEL_FILES,)
SEQTASKS_EXPORT = ((METADATA_FILE,),)  # written last, inside the folder renamed into place


@dataclasses.dataclass(frozen=True)
class SkippedEntry:
    """An entry of a base path that is not a usable version: its name, the version number it
    names (None when it names none) and why it was skipped."""

    name: str
    version: int | None
    reason: str

    def describe(self, root: Path) -> str:
        return f"{root / self.name}: skipped: {self.reason}"


@dataclasses.dataclass(frozen=True)
class VersionListing:
    """One look at a base path: complete version folders, entries skipped, and an error when the
    base path itself could not be read (then nothing is known about its versions)."""

    root: Path
    versions: dict[int, Path]
    skipped: tuple[SkippedEntry, ...] = ()
    error: str = ""

    @property
    def taken(self) -> set[int]:
        """Every version number an entry names, complete or not (a new export takes a free one)."""
        return set(self.versions) | {s.version for s in self.skipped if s.version is not None}


def saved_model_file(directory: Path) -> Path | None:
    """The SavedModel file of a version folder (``saved_model.pb`` or ``.pbtxt``), or None."""
    return next((directory / name for name in SAVED_MODEL_FILES
                 if (directory / name).is_file()), None)


def version_number(name: str) -> int | None:
    """The version a folder name stands for, or None (``'²'``, ``'-1'``, ``'1e3'``, > int64)."""
    if not VERSION_NAME.fullmatch(name):
        return None
    number = int(name)
    return number if number <= MAX_VERSION else None


def _why_not_a_version(name: str) -> str:
    if name.startswith("."):
        return "a hidden entry (a version being written elsewhere? rename it into place when done)"
    if VERSION_NAME.fullmatch(name):
        return f"version number beyond the int64 limit {MAX_VERSION}"
    if name.isdigit() or name.isnumeric():
        return "its digits are not ASCII 0-9 (a version folder is named like 1 or 00000123)"
    return "not a version number (a version folder is named like 1 or 00000123)"


def _looks_like_a_version(name: str) -> bool:
    """Entries worth reporting: names with a digit in any script (``²``, ``-1``, ``.3.tmp``,
    ``v2``); other companions of versions (``logs``, ``.resume``, ``README``) pass silently."""
    return any(ch.isdigit() or ch.isnumeric() for ch in name)


def _missing_files(folder: Path, required: tuple[tuple[str, ...], ...]) -> str:
    """'' when ``folder`` holds one regular file of each group of ``required``, else why not.
    Raises OSError when the folder cannot be read (or vanished)."""
    names = set(os.listdir(folder))
    for group in required:
        present = [name for name in group if name in names]
        if not any(stat.S_ISREG(os.stat(folder / name).st_mode) for name in present):
            return (f"no {' or '.join(group)} (still being copied? write a version elsewhere and "
                    "rename it into place)")
    return ""


def list_versions(root: str | Path, required: tuple[tuple[str, ...], ...] = SAVED_MODEL,
                  report_all: bool = False) -> VersionListing:
    """The complete version folders under ``root`` (each holding one file of every group in
    ``required``) and the entries skipped. Entries that do not look like versions at all
    (``logs``) are left out of ``skipped`` unless ``report_all``."""
    root = Path(root)
    try:
        with os.scandir(root) as entries:
            names = sorted(entry.name for entry in entries)
    except FileNotFoundError:
        return VersionListing(root, {}, (), f"{root}: base path not found")
    except OSError as error:
        return VersionListing(root, {}, (), f"{root}: cannot list the base path "
                                            f"({error.strerror or error})")
    found: dict[int, list[tuple[str, Path]]] = {}
    skipped: list[SkippedEntry] = []
    for name in names:
        number = version_number(name)
        if number is None:
            if report_all or _looks_like_a_version(name):
                skipped.append(SkippedEntry(name, None, _why_not_a_version(name)))
            continue
        reason = _folder_problem(root / name, required)
        if reason:
            skipped.append(SkippedEntry(name, number, reason))
        else:
            found.setdefault(number, []).append((name, root / name))
    versions: dict[int, Path] = {}
    for number, folders in sorted(found.items()):
        folders.sort(key=lambda item: (len(item[0]), item[0]))  # '1' before '01'
        versions[number] = folders[0][1]
        skipped += [SkippedEntry(name, number, f"names version {number} too, which is served "
                                               f"from {folders[0][0]}; remove one of them")
                    for name, _ in folders[1:]]
    return VersionListing(root, versions, tuple(sorted(skipped, key=_skipped_order)))


def _skipped_order(entry: SkippedEntry) -> tuple:
    return (entry.version is None, entry.version or 0, entry.name)


def _folder_problem(path: Path, required: tuple[tuple[str, ...], ...]) -> str:
    """'' for a usable version folder, else why it is skipped (races with deletion included)."""
    try:
        if os.path.islink(path) and not os.path.exists(path):
            return f"a symbolic link to nothing ({os.readlink(path)} does not exist)"
        # A link to a folder is followed, as TF Serving follows it: deployments often point
        # version numbers at release folders kept elsewhere.
        mode = os.stat(path).st_mode
        if not stat.S_ISDIR(mode):
            return "a file, not a folder"
        return _missing_files(path, required)
    except FileNotFoundError:
        return "vanished while the base path was scanned"
    except OSError as error:
        return f"cannot be read ({error.strerror or error})"


def versions(root: str | Path) -> list[int]:
    """Every version number an entry of ``root`` names, complete or not (the next export takes
    the one after the largest, so it never lands on a folder still being written)."""
    return sorted(list_versions(root, SEQTASKS_EXPORT).taken)


def resolve_export(path: str | Path, version: int | None = None) -> Path:
    """A model directory: an export root (newest complete or given version) or one version
    directory. Entries of the root that are not complete exports are passed over."""
    path = Path(path)
    if not path.exists():
        raise ModelError(f"{path}: model directory not found")
    if (path / METADATA_FILE).exists() and version is None:
        return path
    listing = list_versions(path, SEQTASKS_EXPORT) if path.is_dir() else None
    if listing is not None and listing.error:
        raise ModelError(listing.error)
    found = listing.versions if listing else {}
    numbered = [s for s in listing.skipped if s.version is not None] if listing else []
    if version is not None:
        if version in found:
            return found[version]
        why = [s.describe(path) for s in numbered if s.version == version]
        raise ModelError(f"{path}: no version {version} (" + ("; ".join(why) if why else
                         f"found: {', '.join(map(str, found)) or 'none'}") + ")")
    if found:
        return found[max(found)]
    if numbered:
        raise ModelError(f"{path}: no complete seqtasks export among its version folders ("
                         + "; ".join(s.describe(path) for s in numbered[:3])
                         + (f"; {len(numbered) - 3} more" if len(numbered) > 3 else "") + ")")
    raise ModelError(
        f"{path}: not a seqtasks export (no {METADATA_FILE}); pass the --out directory of "
        "'seqtasks train' or one of its numbered version directories")


def read_metadata(export_dir: str | Path) -> dict:
    path = Path(export_dir) / METADATA_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise ModelError(f"{path}: unreadable export metadata ({e})") from None
