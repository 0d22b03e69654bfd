"""The export layout on disk (TF Serving's ``ROOT/<version>/``) and its metadata file:
finding versions, resolving a model directory, reading ``seqtasks.json``."""

from __future__ import annotations

import json
from pathlib import Path

from seqtasks.errors import ModelError

METADATA_FILE = "seqtasks.json"


def versions(root: str | Path) -> list[int]:
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted(int(p.name) for p in root.iterdir() if p.is_dir() and p.name.isdigit())


def resolve_export(path: str | Path, version: int | None = None) -> Path:
    """A model directory: an export root (newest or given version) or one version directory."""
    path = Path(path)
    if not path.exists():
        raise ModelError(f"{path}: model directory not found")
    if (path / METADATA_FILE).exists() and version is None:
        return path
    found = versions(path)
    if version is not None:
        if version not in found:
            raise ModelError(f"{path}: no version {version} (found: "
                             f"{', '.join(map(str, found)) or 'none'})")
        path = path / str(version)
    elif found:
        path = path / str(found[-1])
    if not (path / METADATA_FILE).exists():
        raise ModelError(
            f"{path}: not a seqtasks export (no {METADATA_FILE}); pass the --out directory of "
            "'seqtasks train' or one of its numbered version directories")
    return path


def read_metadata(export_dir: str | Path) -> dict:
    path = Path(export_dir) / METADATA_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise ModelError(f"{path}: unreadable export metadata ({e})") from None
