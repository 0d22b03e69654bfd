"""File-to-file batch prediction: chunked, order-preserving, written atomically.

Every input row appears once in the output, in input order, with its original columns plus the
predictor's columns. The output file only appears when the whole input has been processed.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd

from seqtasks.data.tables import detect_format, iter_table, require_columns
from seqtasks.errors import DataError
from seqtasks.io import atomic_path


class _Writer:
    """Appends DataFrame chunks to a file of the given format."""

    def __init__(self, path: Path, fmt: str):
        self.path, self.fmt = path, fmt
        self.rows = 0
        self._parquet = None
        self._handle = None if fmt == "parquet" else path.open("w", encoding="utf-8", newline="")

    def write(self, frame: pd.DataFrame) -> None:
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
            frame.to_csv(self._handle, index=False, header=self.rows == 0, **options)
        self.rows += len(frame)

    def close(self) -> None:
        if self._parquet is not None:
            self._parquet.close()
        if self._handle is not None:
            self._handle.close()


def _jsonable(value):
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def predict_file(predictor, input_path: str | Path, output_path: str | Path,
                 text_column: str = "text", chunksize: int = 2048, progress=None) -> int:
    """Predict every row of ``input_path`` into ``output_path``; returns the number of rows.

    Formats follow the file extensions (TSV, CSV, JSONL, Parquet). ``progress`` is called with
    the running row count after each chunk.
    """
    input_path, output_path = Path(input_path), Path(output_path)
    out_fmt = detect_format(output_path)
    if not output_path.parent.is_dir():
        raise DataError(output_path, "output directory does not exist")
    rows = 0
    with atomic_path(output_path) as tmp:
        writer = _Writer(tmp, out_fmt)
        try:
            for chunk in iter_table(input_path, chunksize=chunksize):
                if not len(chunk):
                    continue
                require_columns(chunk, input_path, [text_column], option="--text-column")
                writer.write(predictor.predict_frame(chunk, text_column))
                rows += len(chunk)
                if progress:
                    progress(rows)
        finally:
            writer.close()
        if rows == 0:
            raise DataError(input_path, "file has a header but no rows")
    return rows
