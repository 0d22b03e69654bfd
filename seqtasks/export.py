"""SavedModel export: string signatures, tokenizer + vocabulary inside the graph, versioned
TF Serving layout (``ROOT/<version>/``), written atomically, self-described by ``seqtasks.json``."""

from __future__ import annotations

import json
import platform
import shutil
import time
from pathlib import Path

import tensorflow as tf

from seqtasks.errors import ModelError
from seqtasks.io import atomic_dir

METADATA_FILE = "seqtasks.json"


def versions(root: str | Path) -> list[int]:
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted(int(p.name) for p in root.iterdir() if p.is_dir() and p.name.isdigit())


def library_versions() -> dict[str, str]:
    import keras
    import tensorflow_text

    from seqtasks import __version__

    return {"seqtasks": __version__, "tensorflow": tf.__version__, "keras": keras.__version__,
            "tensorflow_text": tensorflow_text.__version__, "python": platform.python_version()}


def export_savedmodel(
    root: str | Path,
    model,
    resources: list,
    signatures: dict,
    metadata: dict,
    asset_files: dict[str, Path] = {},
) -> Path:
    """Write the next version under ``root`` and return its directory.

    ``signatures`` maps names to ``tf.function``s with input signatures (string tensors in);
    the first is also ``serving_default`` unless one is named so. ``resources`` are the lookup
    tables the functions use (they must be tracked explicitly). ``asset_files`` (vocabularies,
    label lists) are copied into ``assets/`` for people and tools that read the export.
    The SavedModel and ``seqtasks.json`` are written into a temporary sibling directory that is
    renamed into place only when complete, so a reader never sees half an export.
    """
    import keras

    root = Path(root)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ModelError(f"{root}: cannot create export directory ({e.strerror})") from None
    version = (versions(root) or [0])[-1] + 1
    target = root / str(version)
    with atomic_dir(target) as tmp:
        # ExportArchive (not tf.saved_model.save on a tf.Module) so that the TF1 loader used by
        # saved_model_cli and TF Serving finds every variable.
        archive = keras.export.ExportArchive()
        archive.track(model)
        for resource in resources:
            archive.track(resource)
        for name, fn in signatures.items():
            archive.add_endpoint(name, fn)
        archive.write_out(str(tmp), verbose=False)
        for name, source in asset_files.items():
            shutil.copyfile(source, tmp / "assets" / name)
        full = {
            **metadata,
            "version": version,
            "signatures": sorted(signatures),
            "exported_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "library_versions": library_versions(),
        }
        (tmp / METADATA_FILE).write_text(json.dumps(full, indent=2, default=str) + "\n")
    return target


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
