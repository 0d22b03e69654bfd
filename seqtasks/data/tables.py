"""Tabular files (TSV, CSV, JSONL, Parquet) read with pandas, with errors that name file and line.

Line numbers are 1-based physical lines: for TSV/CSV the header is line 1, so data row ``i``
(0-based) is line ``i + 2``; for JSONL row ``i`` is line ``i + 1``; Parquet has rows, not lines.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Iterator

import pandas as pd

from seqtasks.errors import DataError

FORMATS = {".tsv": "tsv", ".txt": "tsv", ".csv": "csv", ".jsonl": "jsonl", ".json": "jsonl",
           ".parquet": "parquet", ".pq": "parquet"}


def detect_format(path: str | Path) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise DataError(path, f"unknown file type '{suffix or '(none)'}'",
                        hint=f"use one of {', '.join(sorted(FORMATS))}")
    return FORMATS[suffix]


def first_data_line(fmt: str) -> int:
    """Physical line of data row 0 (1-based)."""
    return {"tsv": 2, "csv": 2, "jsonl": 1}.get(fmt, 1)


def _check_readable(path: Path, fmt: str) -> None:
    """Existence, emptiness and UTF-8 validity, reported before pandas sees the file."""
    if not path.exists():
        raise DataError(path, "file not found")
    if path.is_dir():
        raise DataError(path, "is a directory, expected a file")
    if path.stat().st_size == 0:
        raise DataError(path, "file is empty", hint="it needs a header line and at least one row"
                        if fmt in ("tsv", "csv") else "it needs at least one row")
    if fmt == "parquet":
        return
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise DataError(path, f"bytes are not valid UTF-8 at column {e.start + 1}",
                                line=number, hint="re-encode the file as UTF-8") from None


def _read_options(fmt: str) -> dict:
    if fmt == "tsv":
        # Sentences contain quotes; TSV has no quoting, so take every character literally.
        return dict(sep="\t", quoting=csv.QUOTE_NONE, dtype=str, keep_default_na=False)
    if fmt == "csv":
        return dict(sep=",", dtype=str, keep_default_na=False)
    return {}


def _parser_error(path: Path, error: Exception) -> DataError:
    text = str(error).strip()
    # pandas says e.g. "Error tokenizing data. C error: Expected 2 fields in line 7, saw 3"
    line = None
    marker = " line "
    if marker in text:
        digits = text.split(marker, 1)[1].split(",")[0].split()[0].rstrip(".:")
        line = int(digits) if digits.isdigit() else None
    return DataError(path, f"cannot parse: {text.splitlines()[-1]}", line=line,
                     hint="check the separator and the number of fields on that line")


def _jsonl_chunks(path: Path, chunksize: int) -> Iterator[pd.DataFrame]:
    rows: list[dict] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                raise DataError(path, "blank line in JSONL", line=number,
                                hint="every line must be one JSON object")
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise DataError(path, f"invalid JSON ({e.msg})", line=number) from None
            if not isinstance(row, dict):
                raise DataError(path, "expected a JSON object per line", line=number)
            rows.append(row)
            if len(rows) == chunksize:
                yield pd.DataFrame(rows)
                rows = []
    if rows:
        yield pd.DataFrame(rows)


def iter_table(path: str | Path, chunksize: int = 10_000, fmt: str | None = None
               ) -> Iterator[pd.DataFrame]:
    """Yield the file as DataFrames of at most ``chunksize`` rows, in file order.

    Each chunk carries a ``_line`` attribute in ``chunk.attrs`` with the physical line of its
    first row, so later checks can point at the exact line.
    """
    path = Path(path)
    fmt = fmt or detect_format(path)
    _check_readable(path, fmt)
    line = first_data_line(fmt)
    if fmt == "jsonl":
        chunks = _jsonl_chunks(path, chunksize)
    elif fmt == "parquet":
        import pyarrow.parquet as pq

        try:
            batches = pq.ParquetFile(path).iter_batches(batch_size=chunksize)
        except Exception as e:  # pyarrow raises several unrelated types for a corrupt file
            raise DataError(path, f"not a readable Parquet file ({e})") from None
        chunks = (batch.to_pandas() for batch in batches)
    else:
        try:
            chunks = pd.read_csv(path, chunksize=chunksize, **_read_options(fmt))
        except pd.errors.EmptyDataError:
            raise DataError(path, "file has no header line") from None
    try:
        for chunk in chunks:
            chunk.attrs["_line"] = line
            line += len(chunk)
            yield chunk
    except pd.errors.ParserError as e:
        raise _parser_error(path, e) from None


def read_table(path: str | Path, fmt: str | None = None) -> pd.DataFrame:
    chunks = [chunk for chunk in iter_table(path, fmt=fmt) if len(chunk)]
    if not chunks:
        raise DataError(path, "file has a header but no rows")
    frame = pd.concat(chunks, ignore_index=True)
    frame.attrs["_line"] = chunks[0].attrs["_line"]
    return frame


def require_columns(frame: pd.DataFrame, path, columns: list[str], option: str = "") -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        found = ", ".join(map(str, frame.columns)) or "(none)"
        hint = f"found columns: {found}"
        if option:
            hint += f"; choose others with {option}"
        raise DataError(path, f"missing column {', '.join(repr(c) for c in missing)}",
                        line=1 if detect_format(path) in ("tsv", "csv") else None, hint=hint)


def row_line(frame: pd.DataFrame, position: int) -> int | None:
    """Physical line of the row at ``position`` in a frame from iter_table/read_table."""
    start = frame.attrs.get("_line")
    return None if start is None else start + position
