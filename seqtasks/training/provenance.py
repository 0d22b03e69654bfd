"""What a model was trained on and where: the data files (name, lines, bytes, sha256, the
examples the reader kept) and the hardware, recorded in ``seqtasks.json`` (and so in the model
card) with every export."""

from __future__ import annotations

import hashlib
import os
import platform
from pathlib import Path

CHUNK = 1 << 20  # files are hashed in 1 MiB reads: memory stays flat whatever their size
BINARY_SUFFIXES = (".parquet", ".pq")  # tables whose line breaks mean nothing: no line count


def file_facts(path: str | Path) -> dict:
    """``{"name", "path", "lines", "bytes", "sha256"}`` of one file, read once in chunks
    (``lines`` None for a binary table)."""
    path = Path(path)
    digest, lines, size, last = hashlib.sha256(), 0, 0, b"\n"
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            lines += chunk.count(b"\n")
            size += len(chunk)
            last = chunk[-1:]
    if last != b"\n":  # a last line without a line break is a line too
        lines += 1
    if path.suffix.lower() in BINARY_SUFFIXES:
        lines = None
    return {"name": path.name, "path": str(path), "lines": lines, "bytes": size,
            "sha256": digest.hexdigest()}


def describe_split(paths, split, source: str = "file") -> dict:
    """A data argument (one path, or the aligned files of parallel data) as JSON: its files'
    facts, the examples the task's reader kept (``len(split)`` where it has one) and ``source``
    (``file``, or ``in-memory`` for data handed over as Python objects)."""
    listed = list(paths) if isinstance(paths, (list, tuple)) else [paths]
    files = [file_facts(path) for path in listed if Path(path).is_file()]
    examples = len(split) if hasattr(split, "__len__") and not isinstance(split, (str, Path)) \
        else None
    return {"source": source, "examples": examples, "files": files}


def hardware() -> dict:
    """The machine training ran on: platform, CPU threads, and the GPUs TensorFlow sees."""
    import tensorflow as tf

    gpus = [tf.config.experimental.get_device_details(gpu).get("device_name", gpu.name)
            for gpu in tf.config.list_physical_devices("GPU")]
    return {"platform": platform.platform(), "machine": platform.machine(),
            "cpu_threads": os.cpu_count(), "gpus": gpus or "none"}
