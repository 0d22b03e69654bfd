"""Turn each public dataset's official release into the files the recipes read.

``DATASETS`` maps the names ``seqtasks data prepare NAME`` takes to their modules. Each module
reads a release the user downloaded (``SOURCE`` says where it is published), never the network,
and has ``prepare(source) -> {file name: text}`` and the reference copy's ``REFERENCE_SHA256``.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from seqtasks.errors import ConfigError, DataError

DATASETS = {"sst2": "pipelines.datasets.sst2", "mr": "pipelines.datasets.mr",
            "conll2003": "pipelines.datasets.conll2003", "ptb": "pipelines.datasets.ptb",
            "tinyshakespeare": "pipelines.datasets.tinyshakespeare",
            "multi30k": "pipelines.datasets.multi30k", "imdb": "pipelines.datasets.imdb",
            "wikipedia": "pipelines.datasets.wikipedia"}


def dataset(name: str):
    """The module that prepares the dataset called ``name``."""
    if name not in DATASETS:
        raise ConfigError(f"Unknown dataset '{name}'. Expected one of: {', '.join(DATASETS)}")
    return importlib.import_module(DATASETS[name])


def prepare(name: str, source: str | Path, out: str | Path, verify: bool = False) -> list:
    """Prepare ``name`` from the release at ``source`` into the folder ``out``; with ``verify``,
    a file whose sha256 differs from the reference copy's is an error (and nothing is written)."""
    module = dataset(name)
    files = module.prepare(Path(source))
    if verify:
        _verify(module, files, Path(out))
    from pipelines.datasets.release import write_files

    return write_files(Path(out), files, module.REFERENCE_SHA256)


def _verify(module, files: dict[str, str], out: Path) -> None:
    import hashlib

    for name, expected in module.REFERENCE_SHA256.items():
        if name not in files:
            continue
        actual = hashlib.sha256(files[name].encode("utf-8")).hexdigest()
        if actual != expected:
            raise DataError(out / name, f"sha256 {actual} is not the reference copy's {expected}",
                            hint="check the download's checksum, or leave out --verify")
