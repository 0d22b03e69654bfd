"""File-to-file batch prediction: streamed in chunks, order-preserving, resumable, atomic.

Every input row appears once in the output, in input order, with its original columns plus the
predictor's columns. Memory stays constant whatever the file size: one chunk is read, predicted and
committed at a time. Each committed chunk is a part file in ``.OUTPUT.partial/`` next to the output,
with ``progress.json`` saying how many input rows the parts hold; an interrupted run (Ctrl-C, a
killed job) resumes from there when run again, so no row is lost or written twice. The output file
only appears, by an atomic rename, when the whole input has been processed.

The output's columns and their types are fixed before the first row (table_schema reads them from
the input, table_writer says how each format holds them) and stored with the partial run, so a
resumed run writes what an uninterrupted one would.
"""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pandas as pd

from seqtasks.data.images import IMAGE_EXTENSIONS, list_images
from seqtasks.data.tables import detect_format
from seqtasks.errors import DataError
from seqtasks.inference.table_schema import KIND_OF_VALUE, Column, InputTable
from seqtasks.inference.table_schema import Chunk
from seqtasks.inference.table_writer import OutputColumn, TableWriter, output_columns
from seqtasks.io import atomic_path, atomic_write_text

MAX_CHUNKSIZE = 1_000_000  # rows held in memory at once


ProgressCallback = Callable[[int, "int | None"], None]


class _PartialRun:
    """The committed chunks of an unfinished run: ``.OUTPUT.partial/part-NNNNNN.<format>`` and
    ``progress.json`` (which input, model and options they belong to; the output's columns;
    rows and parts done)."""

    def __init__(self, output_path: Path, fmt: str, identity: dict, source: Path):
        self.output_path, self.fmt, self.identity, self.source = output_path, fmt, identity, \
            source
        self.directory = output_path.parent / f".{output_path.name}.partial"
        self.progress_file = self.directory / "progress.json"
        self.rows_done = 0
        self.parts = 0
        self.columns: list[OutputColumn] | None = None  # fixed with the first part

    def resume(self, input_columns: list[OutputColumn]) -> None:
        """Continue an earlier run of the same job, if one was interrupted."""
        if not self.progress_file.exists():
            return
        hint = "rerun with --restart to discard it, or choose another --output"
        try:
            state = json.loads(self.progress_file.read_text(encoding="utf-8"))
            earlier, self.rows_done, self.parts = state["identity"], state["rows_done"], \
                state["parts"]
            columns = _columns_from_json(state["columns"], state.get("arrow_schema"))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError):
            raise DataError(self.progress_file, "unreadable progress of an unfinished run",
                            hint=hint) from None
        changed = [key for key, value in self.identity.items() if earlier.get(key) != value]
        if changed:
            raise DataError(self.output_path, f"the unfinished run in {self.directory.name}/ "
                            f"had a different {' and '.join(changed)}", hint=hint)
        if self.parts and [c.to_json() for c in columns[: len(input_columns)]] != \
                [c.to_json() for c in input_columns]:
            raise DataError(self.output_path, f"the unfinished run in {self.directory.name}/ "
                            "had different input columns", hint=hint)
        self.columns = columns if self.parts else None

    def commit(self, chunk: Chunk) -> None:
        """Write one predicted chunk as the next part, then record it as done."""
        self.directory.mkdir(exist_ok=True)
        with atomic_path(self._part(self.parts)) as tmp:
            writer = TableWriter(tmp, self.fmt, self.columns, self.source,
                                 header=self.parts == 0)
            try:
                writer.write(chunk)
            finally:
                writer.close()
        self.parts += 1
        self.rows_done += len(chunk)
        state = {"identity": self.identity, "rows_done": self.rows_done, "parts": self.parts,
                 "columns": [c.to_json() for c in self.columns]}
        if self.fmt == "parquet":
            import pyarrow as pa

            schema = pa.schema([pa.field(c.name, c.arrow) for c in self.columns])
            state["arrow_schema"] = base64.b64encode(schema.serialize().to_pybytes()).decode()
        atomic_write_text(self.progress_file, json.dumps(state))

    def write_output(self) -> None:
        """Concatenate the parts into the output file, atomically."""
        with atomic_path(self.output_path) as tmp:
            if self.fmt == "parquet":
                self._concatenate_parquet(tmp)
                return
            with tmp.open("wb") as out:
                for index in range(self.parts):
                    with self._part(index).open("rb") as part:
                        shutil.copyfileobj(part, out, 1 << 20)

    def _concatenate_parquet(self, path: Path) -> None:
        import pyarrow.parquet as pq

        writer = None
        try:
            for index in range(self.parts):
                table = pq.read_table(self._part(index))  # every part has the run's schema
                if writer is None:
                    writer = pq.ParquetWriter(path, table.schema)
                writer.write_table(table)
        finally:
            if writer is not None:
                writer.close()

    def discard(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)

    def _part(self, index: int) -> Path:
        return self.directory / f"part-{index:06d}.{self.fmt}"


def _columns_from_json(columns: list[dict], arrow_schema: str | None) -> list[OutputColumn]:
    types = [None] * len(columns)
    if arrow_schema is not None:
        import pyarrow as pa

        schema = pa.ipc.read_schema(pa.py_buffer(base64.b64decode(arrow_schema)))
        types = schema.types
    return [OutputColumn(**{**column, "arrow": arrow}) for column, arrow in zip(columns, types)]


def _identity(predictor, input_path: Path, text_column: str, fmt: str, prefix: str) -> dict:
    """What a resumed run must share with the interrupted one."""
    stat = input_path.stat() if input_path.is_file() else None
    return {"input": str(input_path.resolve()),
            "input size and time": [stat.st_size, stat.st_mtime_ns] if stat else None,
            "model": str(Path(predictor.export_dir).resolve()),
            "text column": text_column, "output format": fmt, "prediction prefix": prefix}


class FolderTable:
    """The image files of a folder, sorted by name, as a one-column table of paths."""

    fmt = "folder"

    def __init__(self, folder: Path, column: str):
        self.path, self.names = folder, [column]
        self.columns = [Column(column, {"string": None})]
        self.paths = [str(path) for path in list_images(folder)]
        if not self.paths:
            raise DataError(folder, "no image files in this folder",
                            hint=f"expected files ending in {', '.join(IMAGE_EXTENSIONS)}")

    def check_text_column(self, name: str) -> None:
        pass

    def chunks(self, chunksize: int) -> Iterator[Chunk]:
        for start in range(0, len(self.paths), chunksize):
            paths = self.paths[start : start + chunksize]
            yield Chunk(list(range(start + 1, start + 1 + len(paths))), {self.names[0]: paths})


def count_rows(path: Path) -> int:
    """Rows of a table file, for progress: Parquet metadata, else lines (a CSV field with a
    line break counts twice); images in a folder."""
    if path.is_dir():
        return len(list_images(path))
    fmt = detect_format(path)
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return pq.ParquetFile(path).metadata.num_rows
    lines, last = 0, b"\n"
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            lines += block.count(b"\n")
            last = block[-1:]
    lines += last != b"\n"
    return lines - 1 if fmt in ("tsv", "csv") else lines


def predict_file(predictor, input_path: str | Path, output_path: str | Path,
                 text_column: str = "text", chunksize: int = 2048,
                 progress: ProgressCallback | None = None, restart: bool = False,
                 prediction_prefix: str = "") -> int:
    """Predict every row of ``input_path`` into ``output_path``; returns the number of rows.

    Formats follow the file extensions (TSV, CSV, JSONL, Parquet); the input may also be a folder
    of images (for a caption model), read as a ``text_column`` of their paths, sorted by name.
    The output holds every input column unchanged (see table_writer) and the predictor's columns,
    named ``prediction_prefix`` + their name; one that would overwrite an input column is
    refused. ``progress(done, total)`` is called after each chunk (first with the rows an
    interrupted run already did). After an interruption (KeyboardInterrupt, a killed process)
    the committed chunks are kept and the same call resumes; ``restart=True`` discards them. Any
    other error discards them and leaves an existing output file untouched.
    """
    input_path, output_path = Path(input_path), Path(output_path)
    out_fmt = detect_format(output_path)
    if not output_path.parent.is_dir():
        raise DataError(output_path, "output directory does not exist")
    if not 1 <= chunksize <= MAX_CHUNKSIZE:
        raise DataError(input_path, f"chunk size {chunksize} is out of range",
                        hint=f"choose 1 to {MAX_CHUNKSIZE:,} rows")
    table = FolderTable(input_path, text_column) if input_path.is_dir() \
        else InputTable(input_path, detect_format(input_path))
    table.check_text_column(text_column)
    input_columns = output_columns(input_path, table.columns, out_fmt)
    run = _PartialRun(output_path, out_fmt, _identity(predictor, input_path, text_column,
                                                      out_fmt, prediction_prefix), input_path)
    if restart:
        run.discard()
    run.resume(input_columns)
    interrupted = False
    try:
        _predict_chunks(predictor, table, text_column, chunksize, run, progress,
                        input_columns, prediction_prefix)
        if run.rows_done == 0:
            raise DataError(input_path, "file has a header but no rows")
        run.write_output()
    except KeyboardInterrupt:
        interrupted = True
        raise
    finally:
        if not interrupted:
            run.discard()
    return run.rows_done


def _predict_chunks(predictor, table, text_column: str, chunksize: int, run: _PartialRun,
                    progress: ProgressCallback | None, input_columns: list[OutputColumn],
                    prefix: str) -> None:
    skip, total = run.rows_done, None
    if progress:
        total = count_rows(table.path)
        progress(run.rows_done, total)
    for chunk in table.chunks(chunksize):
        if skip >= len(chunk):
            skip -= len(chunk)
            continue
        chunk, skip = chunk.tail(skip) if skip else chunk, 0
        texts = chunk.column(text_column)
        # A null text (JSONL null, Parquet null) has nothing to predict: its predictions are
        # null too, never a guess for an empty string. At least one text is predicted, so that
        # a chunk of nulls still tells the prediction columns.
        present = [i for i, text in enumerate(texts) if text is not None] or [None]
        asked = [texts[i] if i is not None else "" for i in present]
        result = predictor.predict_frame(pd.DataFrame({text_column: asked}), text_column)
        predicted = {prefix + str(name): _placed(_values(result[name]), present, len(texts))
                     for name in result.columns if name != text_column}
        if run.columns is None:
            dtypes = {prefix + str(name): result[name].dtype for name in result.columns}
            run.columns = input_columns + _prediction_columns(table, predicted, dtypes, run.fmt,
                                                              prefix)
        chunk.values.update(predicted)
        run.commit(chunk)
        if progress:
            progress(run.rows_done, total)


def _placed(values: list, rows: list, count: int) -> list:
    """``values`` of the predicted ``rows`` (None: none was) at their places among ``count``
    rows; the others null."""
    placed = [None] * count
    for row, value in zip(rows, values):
        if row is not None:
            placed[row] = value
    return placed


def _values(series: pd.Series) -> list:
    """A prediction column as Python values; float32 as the shortest decimal that is the same
    float32 (0.1, not 0.10000000149011612)."""
    if series.dtype == np.float32:
        return [float(str(value)) for value in series.to_numpy()]
    return [value.tolist() if isinstance(value, (np.ndarray, np.generic)) else value
            for value in series.tolist()]


def _prediction_columns(table, predicted: dict[str, list], dtypes: dict, fmt: str,
                        prefix: str) -> list[OutputColumn]:
    """The predictions' output columns, fixed from the first chunk; never an input column."""
    import pyarrow as pa

    columns = []
    for name, values in predicted.items():
        if name in table.names:
            raise DataError(table.path, f"the input already has a column '{name}', which the "
                            "prediction would overwrite",
                            line=1 if table.fmt in ("tsv", "csv") else None,
                            hint="rename that column, or name the prediction columns with a "
                                 f"prefix: --prefix {prefix or 'pred_'}")
        dtype = dtypes[name]
        if dtype.kind in "biuf":  # numpy bool, integer, float: Parquet keeps the width
            kind = {"b": "bool", "i": "int", "u": "int", "f": "float"}[dtype.kind]
            arrow = pa.from_numpy_dtype(dtype)
        else:
            first = next((value for value in values if value is not None), None)
            kind = next((kind for cls, kind in KIND_OF_VALUE if isinstance(first, cls)),
                        "other")
            arrow = {"bool": pa.bool_(), "int": pa.int64(), "float": pa.float64()}.get(
                kind, pa.string())
        columns.append(OutputColumn(name, name, kind, kind == "nested" and fmt != "jsonl",
                                    arrow if fmt == "parquet" else None))
    return columns
