"""Batch prediction copies every input row and column exactly, in every input x output format.

Each case generates a table (random column names and types, nulls, integers past 2**53, booleans,
unicode and number-like strings), writes it as TSV, CSV, JSONL (key order shuffled on every line,
keys left out) or Parquet, predicts it with a fake predictor in small chunks, once straight
through and once interrupted and resumed with another chunk size, and checks the output row by
row and column by column against the input plus the predictions. ``-m slow`` runs many more cases.
"""

import csv
import io
import json
import os
import random

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seqtasks.inference.batch import predict_file

FORMATS = ("tsv", "csv", "jsonl", "parquet")
NAMES = ("id", "007", "名前", "a,b", 'say "hi"', "x y", "label", "1.5", "true", "n", "é")
TEXTS = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp"),
                              blacklist_characters="\x85\ufeff"), max_size=12)
ANY_TEXTS = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\ufeff"),
                    max_size=12)  # tabs, line breaks, NUL: for CSV, JSONL and Parquet output
NUMBER_LIKE = st.sampled_from(["007", "1e5", "", "NaN", "null", "true", " 1", "-0", "1,5", '"',
                               "0x1F", "9007199254740993", "None", "nan"])
VALUES = {"string": st.one_of(TEXTS, NUMBER_LIKE),
          "int": st.one_of(st.integers(-2**63, 2**63 - 1), st.integers(-1000, 1000),
                           st.sampled_from([2**53, 2**53 + 1, -2**53 - 1, 2**63 - 1])),
          "bigint": st.one_of(st.integers(2**63, 2**80), st.integers(-2**80, -2**63 - 1)),
          "float": st.floats(allow_nan=False, allow_infinity=False, width=64),
          "bool": st.booleans()}
ARROW = {"string": pa.string(), "int": pa.int64(), "float": pa.float64(), "bool": pa.bool_()}
FAST_CASES = 60
SLOW_CASES = int(os.environ.get("SEQTASKS_FUZZ_CASES", "3000"))


class FakePredictor:
    """What predict_file needs of a predictor: ``export_dir`` and ``predict_frame``, which adds
    a text column and a float32 column, as the classifier does. ``stop_after`` chunks, it raises
    KeyboardInterrupt, as Ctrl-C would."""

    def __init__(self, export_dir, stop_after=None):
        self.export_dir, self.stop_after, self.calls = export_dir, stop_after, 0

    def predict_frame(self, frame, column):
        self.calls += 1
        if self.stop_after is not None and self.calls > self.stop_after:
            raise KeyboardInterrupt
        assert all(isinstance(text, str) for text in frame[column])
        return frame.assign(**prediction(frame[column]))


def prediction(texts) -> dict:
    return {"predicted_label": ["pos" if len(t) % 2 else "neg" for t in texts],
            "prob_pos": np.array([len(t) % 7 / 7 for t in texts], np.float32)}


def cell(value) -> str:
    """How TSV and CSV hold a value."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@st.composite
def tables(draw, fmt_in, fmt_out):
    """(columns [(name, type)], rows [{name: value}], where a JSONL row may leave keys out."""
    names = draw(st.lists(st.sampled_from(NAMES), max_size=4, unique=True))
    types = ["string", "int", "float", "bool"]
    if fmt_in == "jsonl" and fmt_out != "parquet":
        types.append("bigint")  # Parquet's int64 cannot hold it: test_batch.py checks the error
    columns = [(name, draw(st.sampled_from(types))) for name in names]
    texts = ANY_TEXTS if fmt_in in ("jsonl", "parquet") and fmt_out != "tsv" else TEXTS
    columns.insert(draw(st.integers(0, len(columns))), ("text", "text"))
    rows = []
    for _ in range(draw(st.integers(1, 12))):
        row = {}
        for name, kind in columns:
            if kind == "text":
                row[name] = draw(texts.filter(lambda t: t.strip()))
            elif draw(st.integers(0, 4)) == 0:
                row[name] = None
            elif kind == "string":
                row[name] = draw(st.one_of(texts, NUMBER_LIKE))
            else:
                row[name] = draw(VALUES[kind])
            if fmt_in in ("tsv", "csv"):
                row[name] = cell(row[name])
        rows.append(row)
    return columns, rows


def write_input(path, fmt, columns, rows, rng) -> list[str]:
    """Write the table; returns the column order the output must have."""
    names = [name for name, _ in columns]
    if fmt in ("tsv", "csv"):
        buffer = io.StringIO()
        if fmt == "csv":
            csv.writer(buffer, lineterminator="\n").writerows(
                [names] + [[row[n] for n in names] for row in rows])
        else:
            buffer.write("".join("\t".join(r) + "\n" for r in
                                 [names] + [[row[n] for n in names] for row in rows]))
        path.write_text(buffer.getvalue(), encoding="utf-8")
        return names
    if fmt == "parquet":
        arrays = [pa.array([row[n] for row in rows], ARROW.get(kind, pa.string()))
                  for n, kind in columns]
        pq.write_table(pa.Table.from_arrays(arrays, names=names), path,
                       row_group_size=rng.randint(1, 4))
        return names
    order = []
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            keys = [k for k in row if k == "text" or row[k] is not None or rng.random() < 0.7]
            rng.shuffle(keys)  # key order changes from line to line; null keys may be left out
            order += [k for k in keys if k not in order]
            handle.write(json.dumps({k: row[k] for k in keys}, ensure_ascii=rng.random() < 0.5)
                         + "\n")
    return order


def read_output(path, fmt) -> tuple[list[str], list[list]]:
    if fmt == "parquet":
        table = pq.read_table(path)
        return table.column_names, [list(r.values()) for r in table.to_pylist()]
    text = path.read_bytes().decode("utf-8")  # no newline translation: "\r" stays "\r"
    if fmt == "jsonl":
        records = [json.loads(line) for line in text.split("\n")[:-1]]
        return list(records[0]), [list(r.values()) for r in records]
    if fmt == "tsv":
        records = [line.split("\t") for line in text.split("\n")[:-1]]
    else:
        records = list(csv.reader(io.StringIO(text, newline="")))
    return records[0], records[1:]


def expected_value(value, fmt_out):
    if fmt_out in ("tsv", "csv"):
        return cell(value)
    return value


def same(a, b) -> bool:
    return type(a) is type(b) and a == b


def check_case(tmp_path, fmt_in, fmt_out, columns, rows, seed):
    rng = random.Random(seed)
    source = tmp_path / f"in.{fmt_in}"
    order = write_input(source, fmt_in, columns, rows, rng)
    whole, resumed = tmp_path / f"whole.{fmt_out}", tmp_path / f"resumed.{fmt_out}"
    assert predict_file(FakePredictor(tmp_path), source, whole,
                        chunksize=rng.randint(1, 5)) == len(rows)

    names, records = read_output(whole, fmt_out)
    assert names == order + ["predicted_label", "prob_pos"]
    predicted = prediction([row["text"] for row in rows])
    assert len(records) == len(rows)
    for i, (row, record) in enumerate(zip(rows, records)):
        for name, got in zip(names, record):
            if name == "predicted_label":
                want = predicted[name][i]
            elif name == "prob_pos":
                want = predicted[name][i]
                want = str(want) if fmt_out in ("tsv", "csv") else \
                    float(want) if fmt_out == "parquet" else float(str(want))
            else:
                want = expected_value(row.get(name), fmt_out)
            assert same(got, want), (i, name, got, want)
    if fmt_out == "parquet":
        types = dict(zip(pq.read_schema(whole).names, pq.read_schema(whole).types))
        for name, kind in columns:
            if fmt_in in ("tsv", "csv") or kind == "text":
                assert types[name] == pa.string()
            elif any(row.get(name) is not None for row in rows):
                assert types[name] == ARROW[kind], (name, types[name])
        assert types["prob_pos"] == pa.float32()

    interrupted = FakePredictor(tmp_path, stop_after=rng.randint(0, 3))
    try:
        predict_file(interrupted, source, resumed, chunksize=rng.randint(1, 5))
    except KeyboardInterrupt:
        assert not resumed.exists()
    predict_file(FakePredictor(tmp_path), source, resumed, chunksize=rng.randint(1, 5))
    if fmt_out == "parquet":  # row groups follow the chunks; schema and rows are the same
        assert pq.read_table(resumed).equals(pq.read_table(whole))
    else:
        assert resumed.read_bytes() == whole.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [source.name, whole.name, resumed.name])


def fuzz(max_examples: int):
    @settings(max_examples=max_examples, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture,
                                     HealthCheck.too_slow])
    @given(data=st.data(), fmt_in=st.sampled_from(FORMATS), fmt_out=st.sampled_from(FORMATS),
           seed=st.integers(0, 2**32))
    def run(tmp_path_factory, data, fmt_in, fmt_out, seed):
        columns, rows = data.draw(tables(fmt_in, fmt_out))
        check_case(tmp_path_factory.mktemp("case"), fmt_in, fmt_out, columns, rows, seed)

    return run


test_batch_copies_every_row_and_column_fast = fuzz(FAST_CASES)
test_batch_copies_every_row_and_column_many = pytest.mark.slow(fuzz(SLOW_CASES))


@pytest.mark.parametrize("fmt_in", FORMATS)
@pytest.mark.parametrize("fmt_out", FORMATS)
def test_every_format_pair(tmp_path, fmt_in, fmt_out):
    columns = [("id", "int"), ("text", "text"), ("score", "float"), ("ok", "bool"),
               ("code", "string")]
    rows = [{"id": 2**53 + 1, "text": "fine", "score": 0.1, "ok": True, "code": "007"},
            {"id": None, "text": "dull", "score": None, "ok": False, "code": None},
            {"id": -7, "text": "üñí ✓", "score": 1e300, "ok": None, "code": "1e5"}]
    if fmt_in in ("tsv", "csv"):
        rows = [{name: cell(value) for name, value in row.items()} for row in rows]
    check_case(tmp_path, fmt_in, fmt_out, columns, rows, seed=3)
