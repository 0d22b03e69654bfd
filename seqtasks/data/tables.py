"""Tabular files (TSV, CSV, JSONL, Parquet) as pandas DataFrames, with errors that name file
and line.

TSV and CSV are split into records by Python's ``csv`` module and checked before any DataFrame
exists: every record must have as many fields as the header (pandas would silently shift the
columns of a row with one field too many into an index, or merge rows after a stray quote), a
quote must close on the line it opens unless the field really spans lines, and blank lines are
skipped. Every record therefore becomes exactly one row, or reading stops naming the line.

Line numbers are 1-based physical lines: for TSV/CSV the header is line 1 and each row keeps the
line its record starts on (a quoted CSV field may span lines); for JSONL row ``i`` is line
``i + 1``; Parquet has rows, not lines.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Iterator

import pandas as pd

from seqtasks.errors import DataError
from seqtasks.io import iter_text_lines

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


def _header(path: Path, records) -> list[str]:
    try:
        header = next(records)
    except StopIteration:
        raise DataError(path, "file has no header line") from None
    except csv.Error as e:
        raise DataError(path, f"cannot read the header ({e})", line=1) from None
    if not header or all(not name.strip() for name in header):
        raise DataError(path, "the first line is empty; it must be the header", line=1)
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates:
        raise DataError(path, f"column {', '.join(map(repr, duplicates))} appears more than "
                        "once in the header", line=1, hint="give every column its own name")
    return header


def _check_record(path: Path, fmt: str, header: list[str], record: list[str], line: int,
                  last_line: int) -> None:
    delimiter = "\t" if fmt == "tsv" else ","
    if len(record) != len(header):
        hint = ("a tab inside a text is read as a field separator: remove it, or use CSV with "
                "quotes" if fmt == "tsv" else "quote a field that contains a comma: \"a, b\"")
        raise DataError(path, f"{len(record)} field{'s' if len(record) != 1 else ''}, expected "
                        f"{len(header)} (header: {', '.join(header)})", line=line, hint=hint)
    if last_line > line:  # a quoted field spans lines: legitimate, unless it swallowed rows
        for field in record:
            if any(part.count(delimiter) >= len(header) - 1 > 0 for part in field.split("\n")[1:]):
                raise DataError(path, f"a quoted field runs from line {line} to line {last_line} "
                                "and holds what look like whole rows", line=line,
                                hint="a quote on that line is not closed: close it or double it "
                                     '("")')


def _delimited_chunks(path: Path, fmt: str, chunksize: int) -> Iterator[pd.DataFrame]:
    """TSV (no quoting: every character literal, one record per line) or CSV (RFC 4180
    quotes), checked record by record; each chunk's ``attrs["_lines"]`` holds its rows' lines."""
    options = dict(delimiter="\t", quoting=csv.QUOTE_NONE) if fmt == "tsv" \
        else dict(delimiter=",", quoting=csv.QUOTE_MINIMAL, strict=True)
    with path.open(encoding="utf-8-sig", newline="") as handle:
        records = csv.reader(handle, **options)
        header = _header(path, records)
        rows: list[list[str]] = []
        lines: list[int] = []
        while True:
            start = records.line_num + 1
            try:
                record = next(records)
            except StopIteration:
                break
            except csv.Error as e:
                raise DataError(path, f"malformed quoting ({e})", line=start,
                                hint='a field with a quote must be quoted itself, with the quote '
                                     'doubled: "say ""hi"""') from None
            if not record or record == [""]:
                continue  # blank line
            _check_record(path, fmt, header, record, start, records.line_num)
            rows.append(record)
            lines.append(start)
            if len(rows) == chunksize:
                yield _frame(rows, header, lines)
                rows, lines = [], []
        if rows or not lines:
            yield _frame(rows, header, lines)


def _frame(rows: list[list[str]], header: list[str], lines: list[int]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=header, dtype=str)
    frame.attrs["_lines"] = lines
    return frame


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    """A JSON object, refused when a key repeats (json.loads would keep the last silently)."""
    row = dict(pairs)
    if len(row) != len(pairs):
        repeated = sorted({key for key, _ in pairs if sum(k == key for k, _ in pairs) > 1})
        raise ValueError(f"key {', '.join(map(repr, repeated))} appears more than once")
    return row


def iter_jsonl_records(path: str | Path) -> Iterator[tuple[int, dict]]:
    """``(line, object)`` for every line of a JSONL file, the line counted from 1 in the file
    (blank lines hold no row and are passed over, as pandas and the jsonlines package do); an
    invalid line, a value that is not an object, a repeated key or a number too long to parse
    stops with that line. Lines are read by ``iter_text_lines``: any line ending, a BOM dropped,
    a line's length bounded."""
    path = Path(path)
    for number, line in iter_text_lines(path):
        if not line.strip():
            continue
        try:
            row = json.loads(line, object_pairs_hook=_unique_keys)
        except json.JSONDecodeError as e:
            raise DataError(path, f"invalid JSON ({e.msg})", line=number) from None
        except ValueError as e:  # a repeated key, or an integer past Python's digit limit
            raise DataError(path, f"invalid JSON ({e})", line=number,
                            hint="give every key once; quote very long numbers") from None
        if not isinstance(row, dict):
            raise DataError(path, "expected a JSON object per line", line=number)
        yield number, row


def _jsonl_chunks(path: Path, chunksize: int) -> Iterator[pd.DataFrame]:
    rows: list[dict] = []
    for _, row in iter_jsonl_records(path):
        rows.append(row)
        if len(rows) == chunksize:
            yield pd.DataFrame(rows)
            rows = []
    if rows:
        yield pd.DataFrame(rows)


def parquet_batches(path: str | Path, chunksize: int):
    """The record batches of a Parquet file (pyarrow), at most ``chunksize`` rows each."""
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path).iter_batches(batch_size=chunksize)
    except Exception as e:  # pyarrow raises several unrelated types for a corrupt file
        raise DataError(path, f"not a readable Parquet file ({e})") from None


def iter_table(path: str | Path, chunksize: int = 10_000, fmt: str | None = None
               ) -> Iterator[pd.DataFrame]:
    """Yield the file as DataFrames of at most ``chunksize`` rows, in file order.

    Each chunk carries ``chunk.attrs["_lines"]``, the physical line of each of its rows, so later
    checks can point at the exact line.
    """
    path = Path(path)
    fmt = fmt or detect_format(path)
    _check_readable(path, fmt)
    line = first_data_line(fmt)
    if fmt == "jsonl":
        chunks = _jsonl_chunks(path, chunksize)
    elif fmt == "parquet":
        chunks = (batch.to_pandas() for batch in parquet_batches(path, chunksize))
    else:
        chunks = _delimited_chunks(path, fmt, chunksize)
    for chunk in chunks:
        if "_lines" not in chunk.attrs:
            chunk.attrs["_lines"] = list(range(line, line + len(chunk)))
        line += len(chunk)
        yield chunk


def read_table(path: str | Path, fmt: str | None = None) -> pd.DataFrame:
    chunks = [chunk for chunk in iter_table(path, fmt=fmt) if len(chunk)]
    if not chunks:
        raise DataError(path, "file has a header but no rows")
    frame = pd.concat(chunks, ignore_index=True)
    frame.attrs["_lines"] = [line for chunk in chunks for line in chunk.attrs["_lines"]]
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
    lines = frame.attrs.get("_lines")
    return None if lines is None else lines[position]
