"""The columns of a batch-prediction input, found before any row is predicted.

TSV and CSV columns are the header's, every one text (a field is copied as written: ``007``
stays ``007``). Parquet columns are the file's schema, every Arrow type kept. JSONL columns are
every key of every line, in the order they first appear: the file is read once up front (a cheap
pass beside the model's work), so a key that first appears late is a column like any other, a
missing key is a null, and a value the output format cannot hold is reported with its line before
the model has spent time on the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from seqtasks.data.tables import iter_jsonl_records
from seqtasks.errors import DataError

MAX_COLUMNS = 10_000  # distinct JSONL keys: more is a file of objects, not a table
INT64 = 2**63
EXACT_FLOAT_INT = 2**53  # integers up to this magnitude are exact as float64

KIND_OF_VALUE = ((type(None), "null"), (bool, "bool"), (int, "int"), (float, "float"),
                 (str, "string"), (list, "nested"), (dict, "nested"))


@dataclass
class Chunk:
    """Rows of the input: their lines in the input file and each column's values (Python
    objects); a Parquet input also keeps its Arrow record batch."""

    lines: list[int]
    values: dict[str, list]
    batch: object = None

    def __len__(self) -> int:
        return len(self.lines)

    def column(self, name: str, as_text: bool = False) -> list:
        if name not in self.values:
            import pyarrow as pa
            import pyarrow.compute as pc

            array = self.batch.column(name)
            if pa.types.is_dictionary(array.type):
                array = array.dictionary_decode()
            self.values[name] = (pc.cast(array, pa.string()) if as_text else array).to_pylist()
        return self.values[name]

    def tail(self, start: int) -> "Chunk":
        return Chunk(self.lines[start:], {name: values[start:] for name, values in
                                          self.values.items()},
                     None if self.batch is None else self.batch.slice(start))


@dataclass
class Column:
    """One input column: its name, the kinds of value it holds (the first line of each, for
    JSONL) and, for Parquet, its Arrow type."""

    name: str
    kinds: dict[str, int | None] = field(default_factory=dict)
    arrow: object = None  # pyarrow.DataType of a Parquet column
    wide_int_line: int | None = None  # first integer outside int64 (JSONL)
    inexact_int_line: int | None = None  # first integer past 2**53 in magnitude (JSONL)

    @property
    def value_kinds(self) -> list[str]:
        """The kinds of its non-null values."""
        return [kind for kind in self.kinds if kind != "null"]


def arrow_kind(arrow_type) -> str:
    """string, int, float, bool, null, nested, temporal, decimal, binary or other."""
    import pyarrow as pa

    t = arrow_type.value_type if pa.types.is_dictionary(arrow_type) else arrow_type
    checks = (("string", (pa.types.is_string, pa.types.is_large_string,
                          getattr(pa.types, "is_string_view", lambda _: False))),
              ("bool", (pa.types.is_boolean,)), ("int", (pa.types.is_integer,)),
              ("float", (pa.types.is_floating,)), ("null", (pa.types.is_null,)),
              ("nested", (pa.types.is_nested,)),
              ("temporal", (pa.types.is_timestamp, pa.types.is_date, pa.types.is_time)),
              ("decimal", (pa.types.is_decimal,)),
              ("binary", (pa.types.is_binary, pa.types.is_large_binary,
                          pa.types.is_fixed_size_binary)))
    for kind, tests in checks:
        if any(test(t) for test in tests):
            return kind
    return "other"


def delimited_columns(header: list[str]) -> list[Column]:
    return [Column(name, {"string": None}) for name in header]


def parquet_columns(path: Path) -> tuple[list[Column], object]:
    """The columns of a Parquet file and its Arrow schema."""
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
    except Exception as e:  # pyarrow raises several unrelated types for a corrupt file
        raise DataError(path, f"not a readable Parquet file ({e})") from None
    return [Column(f.name, {arrow_kind(f.type): None}, f.type) for f in schema], schema


def jsonl_columns(path: Path) -> tuple[list[Column], int]:
    """Every key of a JSONL file, in order of first appearance, and the number of rows."""
    columns: dict[str, Column] = {}
    rows = 0
    for line, row in iter_jsonl_records(path):
        rows += 1
        for key, value in row.items():
            column = columns.get(key)
            if column is None:
                if len(columns) == MAX_COLUMNS:
                    raise DataError(path, f"more than {MAX_COLUMNS:,} distinct keys", line=line,
                                    hint="batch prediction reads tables: give the rows the "
                                         "same keys")
                column = columns[key] = Column(key)
            kind = next(kind for cls, kind in KIND_OF_VALUE if isinstance(value, cls))
            column.kinds.setdefault(kind, line)
            if kind == "int" and abs(value) >= EXACT_FLOAT_INT:
                column.inexact_int_line = column.inexact_int_line or line
                if not -INT64 <= value < INT64:
                    column.wide_int_line = column.wide_int_line or line
    if not rows:
        raise DataError(path, "no rows: the file holds no JSON object (or only blank lines)",
                        hint="write one JSON object a line")
    return list(columns.values()), rows


class InputTable:
    """A batch-prediction input: its columns, known up front, and its rows in chunks (see
    Chunk), each row with its line in the file (Parquet: its row number)."""

    def __init__(self, path: Path, fmt: str):
        from seqtasks.data.tables import iter_table

        self.path, self.fmt = path, fmt
        self.arrow_schema = None
        if fmt == "jsonl":
            self.columns, _ = jsonl_columns(path)
        elif fmt == "parquet":
            self.columns, self.arrow_schema = parquet_columns(path)
        else:
            frames = iter_table(path, chunksize=1, fmt=fmt)
            header = list(next(frames).columns)  # the header, checked, and at most one row
            frames.close()
            self.columns = delimited_columns([str(name) for name in header])
        self.names = [column.name for column in self.columns]

    def check_text_column(self, name: str) -> None:
        """The column to predict exists and holds text (or nulls: their predictions are null)."""
        column = next((c for c in self.columns if c.name == name), None)
        if column is None:
            raise DataError(self.path, f"missing column '{name}'",
                            line=1 if self.fmt in ("tsv", "csv") else None,
                            hint=f"found columns: {', '.join(self.names) or '(none)'}; "
                                 "choose another with --text-column")
        wrong = [kind for kind in column.value_kinds if kind != "string"]
        if wrong:
            what = column.arrow if column.arrow is not None else wrong[0]
            raise DataError(self.path, f"'{name}' is {what}, expected text",
                            line=column.kinds[wrong[0]],
                            hint="quote the value as a JSON string, or choose the text column "
                                 "with --text-column")

    def chunks(self, chunksize: int):
        from seqtasks.data.tables import iter_table, parquet_batches

        if self.fmt == "jsonl":
            lines, rows = [], []
            for line, row in iter_jsonl_records(self.path):
                lines.append(line)
                rows.append(row)
                if len(rows) == chunksize:
                    yield Chunk(lines, {n: [r.get(n) for r in rows] for n in self.names})
                    lines, rows = [], []
            if rows:
                yield Chunk(lines, {n: [r.get(n) for r in rows] for n in self.names})
        elif self.fmt == "parquet":
            start = 1
            for batch in parquet_batches(self.path, chunksize):
                yield Chunk(list(range(start, start + batch.num_rows)), {}, batch)
                start += batch.num_rows
        else:
            for frame in iter_table(self.path, chunksize=chunksize, fmt=self.fmt):
                yield Chunk(list(frame.attrs["_lines"]),
                            {n: frame[n].tolist() for n in self.names})
