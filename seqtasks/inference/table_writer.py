"""Writers of batch-prediction output: one schema, fixed before the first row, every chunk written
to it by column name.

The output columns are the input's, in the input's order, then the predictions'. Values keep
their type wherever the output format can hold it: text stays text as written, integers stay
integers with every digit, booleans stay booleans, a null stays a null (an empty field in TSV and
CSV, ``null`` in JSONL, a null in Parquet). Parquet input keeps its Arrow types in Parquet output;
in TSV, CSV and JSONL its timestamps, dates and decimals are written as text, exactly. Nested
values (lists, objects) are nested in JSONL and JSON text elsewhere (except Parquet to Parquet,
which keeps them). What a format cannot hold stops the run with the input line and what to do.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from seqtasks.errors import DataError
from seqtasks.inference.table_schema import Chunk, Column

TEXT_KINDS = ("temporal", "decimal")  # Arrow types written as their exact text outside Parquet
REFUSED = {"jsonl": ("decimal", "binary", "other"), "csv": ("binary", "other"),
           "tsv": ("binary", "other"), "parquet": ()}
FIX = {"jsonl": "cast it to text or float64 first, or write CSV or Parquet",
       "csv": "cast it to text first (e.g. base64), or write Parquet",
       "parquet": "give it one type, or write JSONL or CSV, which keep each value as it is"}
FIX["tsv"] = FIX["csv"]


@dataclass
class OutputColumn:
    """A column of the output: its name, the chunk column it comes from, the kind of its values
    (see table_schema), whether nested values become JSON text, and its Parquet type."""

    name: str
    source: str
    kind: str
    json_text: bool = False
    arrow: object = None

    def to_json(self) -> dict:
        return {**asdict(self), "arrow": None if self.arrow is None else str(self.arrow)}


def output_columns(path: Path, columns: list[Column], fmt: str) -> list[OutputColumn]:
    """How each input column is written in ``fmt``, or a DataError for one it cannot hold."""
    import pyarrow as pa

    out = []
    for column in columns:
        kinds = column.value_kinds or ["null"]
        kind = kinds[0] if len(kinds) == 1 else "mixed"
        first = min(line for line in column.kinds.values() if line is not None) \
            if column.arrow is None and len(kinds) > 1 else None
        if fmt == "parquet" and column.arrow is None:
            if sorted(kinds) == ["float", "int"] and not column.inexact_int_line:
                kind = "float"  # 1 and 1.5 in one column: float64 holds both exactly
            elif kind == "mixed":
                where = ", ".join(f"{k} at line {column.kinds[k]}" for k in kinds)
                raise DataError(path, f"column '{column.name}' holds {where}; a Parquet column "
                                "has one type", line=first, hint=FIX[fmt])
            if kind == "int" and column.wide_int_line:
                raise DataError(path, f"column '{column.name}' holds an integer outside 64 bits, "
                                "which Parquet cannot store", line=column.wide_int_line,
                                hint="quote it as text, or write JSONL or CSV, which keep it")
            arrow = {"int": pa.int64(), "float": pa.float64(), "bool": pa.bool_()}.get(
                kind, pa.string())
            out.append(OutputColumn(column.name, column.name, kind, kind == "nested", arrow))
            continue
        if kind in REFUSED[fmt]:
            raise DataError(path, f"column '{column.name}' is {column.arrow}, which "
                            f"{fmt.upper()} cannot hold exactly", hint=FIX[fmt])
        out.append(OutputColumn(column.name, column.name, kind,
                                kind == "nested" and fmt in ("csv", "tsv"),
                                column.arrow if fmt == "parquet" else None))
    return out


def _csv_record(cells: list[str]) -> str:
    """One RFC 4180 record ending in a line feed. Python's csv writer leaves a lone carriage
    return unquoted when the line ends in "\\n", which splits the record on reading."""
    if cells == [""]:
        return '""\n'
    return ",".join('"' + cell.replace('"', '""') + '"' if any(c in cell for c in ',"\r\n')
                    else cell for cell in cells) + "\n"


def _json_default(value):
    """Timestamps, dates and times inside nested Parquet values, as ISO 8601 text."""
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} cannot be written as JSON")


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False, default=_json_default)


class TableWriter:
    """Writes chunks to ``path`` in ``fmt`` with the fixed ``columns``; errors name the input
    file ``source`` and the row's line there."""

    def __init__(self, path: Path, fmt: str, columns: list[OutputColumn], source: Path,
                 header: bool = True):
        self.path, self.fmt, self.columns, self.source = path, fmt, columns, source
        self.header = header
        self._parquet = None
        self._handle = None if fmt == "parquet" else path.open("w", encoding="utf-8", newline="")

    def write(self, chunk: Chunk) -> None:
        getattr(self, f"_write_{self.fmt}")(chunk)
        self.header = False

    def close(self) -> None:
        if self._parquet is not None:
            self._parquet.close()
        if self._handle is not None:
            self._handle.close()

    def _fail(self, column: OutputColumn, line: int | None, problem: str, hint: str):
        raise DataError(self.source, f"column '{column.name}': {problem}", line=line,
                        hint=hint) from None

    def _values(self, chunk: Chunk) -> list[list]:
        return [chunk.column(c.source, as_text=c.kind in TEXT_KINDS) for c in self.columns]

    def _write_jsonl(self, chunk: Chunk) -> None:
        names = [c.name for c in self.columns]
        for row, values in enumerate(zip(*self._values(chunk))):
            try:
                line = _json(dict(zip(names, values)))
            except (ValueError, TypeError) as e:
                self._find_bad_json(values, chunk.lines[row])
                raise DataError(self.source, f"cannot write the row as JSON ({e})",
                                line=chunk.lines[row]) from None
            self._handle.write(line + "\n")

    def _find_bad_json(self, values, line: int) -> None:
        for column, value in zip(self.columns, values):
            try:
                _json(value)
            except ValueError:
                self._fail(column, line, "NaN or infinity, which JSON cannot hold",
                           "write CSV or Parquet, or replace it with null")
            except TypeError as e:
                self._fail(column, line, str(e), FIX[self.fmt])

    def _cell(self, column: OutputColumn, value, line: int) -> str:
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (list, dict, tuple)):
            try:
                return _json(value)
            except (ValueError, TypeError) as e:
                self._fail(column, line, f"a nested value that JSON text cannot hold ({e})",
                           FIX[self.fmt])
        return str(value)

    def _rows(self, chunk: Chunk):
        for row, values in enumerate(zip(*self._values(chunk))):
            line = chunk.lines[row]
            yield line, [self._cell(c, v, line) for c, v in zip(self.columns, values)]

    def _write_csv(self, chunk: Chunk) -> None:
        if self.header:
            self._handle.write(_csv_record([c.name for c in self.columns]))
        for _, cells in self._rows(chunk):
            self._handle.write(_csv_record(cells))

    def _write_tsv(self, chunk: Chunk) -> None:
        if self.header:
            for column in self.columns:
                if any(char in column.name for char in "\t\r\n"):
                    self._fail(column, None, "a tab or line break in the column name, which TSV "
                               "cannot hold", "rename the column, or write CSV, JSONL or Parquet")
            self._handle.write("\t".join(c.name for c in self.columns) + "\n")
        for line, cells in self._rows(chunk):
            for column, cell in zip(self.columns, cells):
                if "\t" in cell or "\n" in cell or "\r" in cell:
                    self._fail(column, line, "a tab or line break inside the value, which TSV "
                               "cannot hold", "write CSV, JSONL or Parquet, which quote it")
            self._handle.write("\t".join(cells) + "\n")

    def _write_parquet(self, chunk: Chunk) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        arrays = []
        for column in self.columns:
            if chunk.batch is not None and column.source in chunk.batch.schema.names:
                arrays.append(chunk.batch.column(column.source))
                continue
            values = chunk.column(column.source)
            if column.json_text:
                values = [None if v is None else self._cell(column, v, line)
                          for v, line in zip(values, chunk.lines)]
            try:
                arrays.append(pa.array(values, type=column.arrow))
            except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as e:
                self._fail(column, chunk.lines[0], f"a value in these rows does not fit the "
                           f"column's type {column.arrow} ({e})", FIX["parquet"])
        schema = pa.schema([pa.field(c.name, c.arrow) for c in self.columns])
        table = pa.Table.from_arrays(arrays, schema=schema)
        if self._parquet is None:
            self._parquet = pq.ParquetWriter(self.path, schema)
        self._parquet.write_table(table)
