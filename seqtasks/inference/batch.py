"""File-to-file batch prediction: streamed in chunks, order-preserving, resumable, atomic.

Every input row appears once in the output, in input order, with its original columns plus the
predictor's columns. Memory stays constant whatever the file size: one chunk is read, predicted and
committed at a time. Each committed chunk is a part file in ``.OUTPUT.partial/`` next to the output,
with ``progress.json`` saying how many input rows the parts hold; an interrupted run (Ctrl-C, a
killed job) resumes from there when run again, so no row is lost or written twice. The output file
only appears, by an atomic rename, when the whole input has been processed.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path
from typing import Callable, Iterator

import pandas as pd

from seqtasks.data.images import IMAGE_EXTENSIONS, list_images
from seqtasks.data.tables import detect_format, iter_table, require_columns
from seqtasks.errors import DataError
from seqtasks.io import atomic_path, atomic_write_text


class _Writer:
    """Appends DataFrame chunks to a file of the given format."""

    def __init__(self, path: Path, fmt: str, header: bool = True):
        self.path, self.fmt, self.header = path, fmt, header
        self.rows = 0
        self._parquet = None
        self._handle = None if fmt == "parquet" else path.open("w", encoding="utf-8", newline="")

    def write(self, frame: pd.DataFrame) -> None:
        if self.fmt != "jsonl":
            frame = _nested_as_json(frame)
        if self.fmt == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(frame, preserve_index=False)
            if self._parquet is None:
                self._parquet = pq.ParquetWriter(self.path, table.schema)
            self._parquet.write_table(table)
        elif self.fmt == "jsonl":
            for record in frame.to_dict(orient="records"):
                self._handle.write(json.dumps(record, ensure_ascii=False, default=_jsonable) + "\n")
        else:
            options = dict(sep="\t", quoting=csv.QUOTE_NONE, escapechar="\\") \
                if self.fmt == "tsv" else dict(sep=",")
            frame.to_csv(self._handle, index=False, header=self.header and self.rows == 0,
                         **options)
        self.rows += len(frame)

    def close(self) -> None:
        if self._parquet is not None:
            self._parquet.close()
        if self._handle is not None:
            self._handle.close()


def _nested_as_json(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns of lists or dicts (e.g. predicted entities) as JSON strings, so that every table
    format (and every chunk of a Parquet file) holds them the same way; JSONL keeps them nested."""
    nested = [column for column in frame.columns
              if frame[column].map(lambda v: isinstance(v, (list, dict))).any()]
    if not nested:
        return frame
    return frame.assign(**{column: frame[column].map(
        lambda v: json.dumps(v, ensure_ascii=False, default=_jsonable)) for column in nested})


def _jsonable(value):
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


ProgressCallback = Callable[[int, "int | None"], None]


class _PartialRun:
    """The committed chunks of an unfinished run: ``.OUTPUT.partial/part-NNNNNN.<format>`` and
    ``progress.json`` (which input, model and options they belong to; rows and parts done)."""

    def __init__(self, output_path: Path, fmt: str, identity: dict):
        self.output_path, self.fmt, self.identity = output_path, fmt, identity
        self.directory = output_path.parent / f".{output_path.name}.partial"
        self.progress_file = self.directory / "progress.json"
        self.rows_done = 0
        self.parts = 0

    def resume(self) -> None:
        """Continue an earlier run of the same job, if one was interrupted."""
        if not self.progress_file.exists():
            return
        hint = "rerun with --restart to discard it, or choose another --output"
        try:
            state = json.loads(self.progress_file.read_text(encoding="utf-8"))
            earlier, self.rows_done, self.parts = state["identity"], state["rows_done"], \
                state["parts"]
        except (json.JSONDecodeError, KeyError, TypeError):
            raise DataError(self.progress_file, "unreadable progress of an unfinished run",
                            hint=hint) from None
        changed = [key for key, value in self.identity.items() if earlier.get(key) != value]
        if changed:
            raise DataError(self.output_path, f"the unfinished run in {self.directory.name}/ "
                            f"had a different {' and '.join(changed)}", hint=hint)

    def commit(self, frame: pd.DataFrame) -> None:
        """Write one predicted chunk as the next part, then record it as done."""
        self.directory.mkdir(exist_ok=True)
        with atomic_path(self._part(self.parts)) as tmp:
            writer = _Writer(tmp, self.fmt, header=self.parts == 0)
            try:
                writer.write(frame)
            finally:
                writer.close()
        self.parts += 1
        self.rows_done += len(frame)
        atomic_write_text(self.progress_file, json.dumps(
            {"identity": self.identity, "rows_done": self.rows_done, "parts": self.parts}))

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
                table = pq.read_table(self._part(index))
                if writer is None:
                    writer = pq.ParquetWriter(path, table.schema)
                elif not table.schema.equals(writer.schema):
                    table = table.cast(writer.schema)  # e.g. an all-null column in one chunk
                writer.write_table(table)
        finally:
            if writer is not None:
                writer.close()

    def discard(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)

    def _part(self, index: int) -> Path:
        return self.directory / f"part-{index:06d}.{self.fmt}"


def _identity(predictor, input_path: Path, text_column: str, fmt: str) -> dict:
    """What a resumed run must share with the interrupted one."""
    stat = input_path.stat() if input_path.is_file() else None
    return {"input": str(input_path.resolve()),
            "input size and time": [stat.st_size, stat.st_mtime_ns] if stat else None,
            "model": str(Path(predictor.export_dir).resolve()),
            "text column": text_column, "output format": fmt}


def folder_table(folder: Path, column: str, chunksize: int) -> Iterator[pd.DataFrame]:
    """The image files of ``folder``, sorted by name, as a one-column table of paths."""
    paths = [str(path) for path in list_images(folder)]
    if not paths:
        raise DataError(folder, "no image files in this folder",
                        hint=f"expected files ending in {', '.join(IMAGE_EXTENSIONS)}")
    for start in range(0, len(paths), chunksize):
        yield pd.DataFrame({column: paths[start : start + chunksize]})


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
                 progress: ProgressCallback | None = None, restart: bool = False) -> int:
    """Predict every row of ``input_path`` into ``output_path``; returns the number of rows.

    Formats follow the file extensions (TSV, CSV, JSONL, Parquet); the input may also be a folder
    of images (for a caption model), read as a ``text_column`` of their paths, sorted by name. ``progress(done, total)`` is
    called after each chunk (first with the rows an interrupted run already did). After an
    interruption (KeyboardInterrupt, a killed process) the committed chunks are kept and the same
    call resumes; ``restart=True`` discards them. Any other error discards them and leaves an
    existing output file untouched.
    """
    input_path, output_path = Path(input_path), Path(output_path)
    out_fmt = detect_format(output_path)
    if not output_path.parent.is_dir():
        raise DataError(output_path, "output directory does not exist")
    run = _PartialRun(output_path, out_fmt, _identity(predictor, input_path, text_column, out_fmt))
    if restart:
        run.discard()
    run.resume()
    interrupted = False
    try:
        _predict_chunks(predictor, input_path, text_column, chunksize, run, progress)
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


def _predict_chunks(predictor, input_path: Path, text_column: str, chunksize: int,
                    run: _PartialRun, progress: ProgressCallback | None) -> None:
    skip, total = run.rows_done, None
    chunks = folder_table(input_path, text_column, chunksize) if input_path.is_dir() \
        else iter_table(input_path, chunksize=chunksize)
    for chunk in chunks:
        if not len(chunk):
            continue
        require_columns(chunk, input_path, [text_column], option="--text-column")
        if progress and total is None:  # counted once the file is known to be readable
            total = count_rows(input_path)
            progress(run.rows_done, total)
        if skip >= len(chunk):
            skip -= len(chunk)
            continue
        chunk, skip = chunk.iloc[skip:], 0
        run.commit(predictor.predict_frame(chunk, text_column))
        if progress:
            progress(run.rows_done, total)
