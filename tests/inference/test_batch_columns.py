"""Batch prediction keeps every input column as it was: order, types, nulls and names; what an
output format cannot hold stops the run at the input line. A fake predictor keeps these fast."""

import csv
import datetime
import decimal
import io
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from helpers import run_cli
from seqtasks.errors import DataError
from seqtasks.inference.batch import predict_file


class FakePredictor:
    """``predict_frame`` as the classifier's: ``predicted_label`` and a float32 ``prob_pos``."""

    def __init__(self, export_dir):
        self.export_dir = export_dir

    def predict_frame(self, frame, column):
        texts = frame[column]
        return frame.assign(predicted_label=["pos" if len(t) % 2 else "neg" for t in texts],
                            prob_pos=np.array([len(t) / 100 for t in texts], np.float32))


def jsonl(path, rows):
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows),
                    encoding="utf-8")
    return path


def csv_rows(path):
    return list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8"), newline="")))


def records(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def one_line_error(error, path, line=None):
    message = str(error.value)
    assert "\n" not in message and "Traceback" not in message
    assert message.startswith(f"{path}:{line}: " if line else f"{path}: "), message
    return message


@pytest.mark.parametrize("out", ["tsv", "parquet", "csv", "jsonl"])
def test_jsonl_keys_reordered_after_the_first_chunk_stay_in_their_columns(tmp_path, out):
    rows = [{"id": f"r{i}", "text": f"text {i}"} if i < 2048 else {"text": f"text {i}",
                                                                     "id": f"r{i}"}
            for i in range(2100)]
    source = jsonl(tmp_path / "in.jsonl", rows)
    target = tmp_path / f"out.{out}"
    assert predict_file(FakePredictor(tmp_path), source, target) == 2100  # default chunks: 2048
    if out == "parquet":
        got = pq.read_table(target).to_pylist()
    elif out == "jsonl":
        got = records(target)
    else:
        text = target.read_text(encoding="utf-8")
        table = [line.split("\t") for line in text.splitlines()] if out == "tsv" \
            else csv_rows(target)
        got = [dict(zip(table[0], record)) for record in table[1:]]
    assert [list(row)[:2] for row in got] == [["id", "text"]] * 2100
    assert [(row["id"], row["text"]) for row in got] == [(r["id"], r["text"]) for r in rows]


def test_a_key_that_first_appears_in_a_later_chunk_is_a_column_of_every_row(tmp_path):
    rows = [{"id": 1, "text": "a"}, {"id": 2, "text": "b"}, {"id": 3, "text": "c", "note": "x"}]
    source = jsonl(tmp_path / "in.jsonl", rows)
    predict_file(FakePredictor(tmp_path), source, tmp_path / "out.csv", chunksize=2)
    table = csv_rows(tmp_path / "out.csv")
    assert table[0] == ["id", "text", "note", "predicted_label", "prob_pos"]
    assert {len(record) for record in table} == {5}
    assert [record[2] for record in table[1:]] == ["", "", "x"]
    predict_file(FakePredictor(tmp_path), source, tmp_path / "out.jsonl", chunksize=2)
    assert [r["note"] for r in records(tmp_path / "out.jsonl")] == [None, None, "x"]


def test_integer_ids_next_to_nulls_keep_every_digit_in_every_format(tmp_path):
    ids = [2**53, None, 2**53 + 1, 2**63 - 1, -5]
    source = jsonl(tmp_path / "in.jsonl", [{"id": i, "text": "t"} for i in ids])
    predict_file(FakePredictor(tmp_path), source, tmp_path / "out.jsonl", chunksize=2)
    text = (tmp_path / "out.jsonl").read_text()
    assert "NaN" not in text and ".0" not in text.replace("0.01", "")
    assert [r["id"] for r in records(tmp_path / "out.jsonl")] == ids
    predict_file(FakePredictor(tmp_path), source, tmp_path / "out.csv", chunksize=2)
    assert [r[0] for r in csv_rows(tmp_path / "out.csv")[1:]] == \
        ["9007199254740992", "", "9007199254740993", "9223372036854775807", "-5"]
    predict_file(FakePredictor(tmp_path), source, tmp_path / "out.parquet", chunksize=2)
    table = pq.read_table(tmp_path / "out.parquet")
    assert table.schema.field("id").type == pa.int64() and table.column("id").to_pylist() == ids


def test_booleans_and_number_like_strings_stay_what_they_were(tmp_path):
    source = tmp_path / "in.csv"
    source.write_text("id,text,flag\n007,a,true\n1e5,b,\n", encoding="utf-8")
    predict_file(FakePredictor(tmp_path), source, tmp_path / "out.csv")
    assert [r[:3] for r in csv_rows(tmp_path / "out.csv")] == \
        [["id", "text", "flag"], ["007", "a", "true"], ["1e5", "b", ""]]
    predict_file(FakePredictor(tmp_path), source, tmp_path / "out.jsonl")
    assert [r["id"] for r in records(tmp_path / "out.jsonl")] == ["007", "1e5"]
    flags = jsonl(tmp_path / "flags.jsonl", [{"text": "a", "ok": True}, {"text": "b", "ok": None}])
    predict_file(FakePredictor(tmp_path), flags, tmp_path / "flags.parquet")
    assert pq.read_table(tmp_path / "flags.parquet").column("ok").to_pylist() == [True, None]


def test_an_input_column_named_like_a_prediction_is_refused_until_a_prefix_is_given(tmp_path):
    source = tmp_path / "in.csv"
    source.write_text("text,predicted_label\ngood,pos\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    with pytest.raises(DataError) as error:
        predict_file(FakePredictor(tmp_path), source, out)
    message = one_line_error(error, source, 1)
    assert "'predicted_label'" in message and "--prefix" in message and not out.exists()
    predict_file(FakePredictor(tmp_path), source, out, prediction_prefix="pred_")
    assert csv_rows(out) == [["text", "predicted_label", "pred_predicted_label", "pred_prob_pos"],
                             ["good", "pos", "neg", "0.04"]]


def test_cli_predict_prefix_is_passed_on(tmp_path):
    result = run_cli("predict", "--help")
    assert "--prefix" in result.stdout


def test_parquet_timestamps_dates_decimals_and_nested_values_round_trip(tmp_path):
    moment = datetime.datetime(2024, 5, 6, 7, 8, 9, 123456)
    table = pa.table({
        "text": ["a", "bb"],
        "at": pa.array([moment, None], pa.timestamp("us")),
        "day": pa.array([datetime.date(2024, 5, 6), None]),
        "price": pa.array([decimal.Decimal("12.30"), None], pa.decimal128(6, 2)),
        "tags": pa.array([["x", "y"], None]),
        "pair": pa.array([{"k": 1, "when": moment}, None])})
    source = tmp_path / "in.parquet"
    pq.write_table(table, source)
    predict_file(FakePredictor(tmp_path), source, tmp_path / "out.parquet")
    back = pq.read_table(tmp_path / "out.parquet")
    assert back.select(table.column_names).equals(table)
    predict_file(FakePredictor(tmp_path), source, tmp_path / "out.csv")
    assert csv_rows(tmp_path / "out.csv")[1][:6] == [
        "a", "2024-05-06 07:08:09.123456", "2024-05-06", "12.30", '["x", "y"]',
        '{"k": 1, "when": "2024-05-06T07:08:09.123456"}']
    assert csv_rows(tmp_path / "out.csv")[2][1:6] == ["", "", "", "", ""]
    with pytest.raises(DataError) as error:  # JSON numbers would round a decimal
        predict_file(FakePredictor(tmp_path), source, tmp_path / "out.jsonl")
    assert "'price'" in one_line_error(error, source)
    pq.write_table(table.drop(["price"]), source)
    predict_file(FakePredictor(tmp_path), source, tmp_path / "out.jsonl")
    assert records(tmp_path / "out.jsonl")[0]["at"] == "2024-05-06 07:08:09.123456"
    assert records(tmp_path / "out.jsonl")[0]["tags"] == ["x", "y"]


def test_parquet_binary_to_text_formats_names_the_column(tmp_path):
    source = tmp_path / "in.parquet"
    pq.write_table(pa.table({"text": ["a"], "blob": pa.array([b"\x00\xff"])}), source)
    for out in ("csv", "tsv", "jsonl"):
        with pytest.raises(DataError) as error:
            predict_file(FakePredictor(tmp_path), source, tmp_path / f"out.{out}")
        assert "'blob'" in one_line_error(error, source)
    predict_file(FakePredictor(tmp_path), source, tmp_path / "out.parquet")
    assert pq.read_table(tmp_path / "out.parquet").column("blob").to_pylist() == [b"\x00\xff"]


def test_a_non_string_text_is_reported_at_its_line_in_the_file(tmp_path):
    rows = [{"text": f"t{i}"} for i in range(3100)]
    rows[2999] = {"text": 42}
    source = jsonl(tmp_path / "in.jsonl", rows)
    with pytest.raises(DataError) as error:
        predict_file(FakePredictor(tmp_path), source, tmp_path / "out.csv")
    assert "'text' is int, expected text" in one_line_error(error, source, 3000)
    assert not (tmp_path / "out.csv").exists()


def test_values_a_format_cannot_hold_stop_at_the_input_line(tmp_path):
    source = tmp_path / "in.csv"  # a quoted field with a line break: record 2 starts on line 3
    source.write_text('id,text\n1,fine\n2,"two\nlines"\n3,ok\n', encoding="utf-8")
    with pytest.raises(DataError) as error:
        predict_file(FakePredictor(tmp_path), source, tmp_path / "out.tsv", chunksize=1)
    assert "line break" in one_line_error(error, source, 3)
    predict_file(FakePredictor(tmp_path), source, tmp_path / "out.csv", chunksize=1)
    assert csv_rows(tmp_path / "out.csv")[2][:2] == ["2", "two\nlines"]

    wide = jsonl(tmp_path / "wide.jsonl", [{"text": "a", "n": 1}, {"text": "b", "n": 2**64}])
    with pytest.raises(DataError) as error:
        predict_file(FakePredictor(tmp_path), wide, tmp_path / "out.parquet")
    assert "outside 64 bits" in one_line_error(error, wide, 2)
    predict_file(FakePredictor(tmp_path), wide, tmp_path / "wide.csv")
    assert csv_rows(tmp_path / "wide.csv")[2][1] == str(2**64)

    mixed = jsonl(tmp_path / "mixed.jsonl", [{"text": "a", "n": 1}, {"text": "b", "n": "x"}])
    with pytest.raises(DataError) as error:
        predict_file(FakePredictor(tmp_path), mixed, tmp_path / "out.parquet")
    assert "'n' holds int at line 1, string at line 2" in one_line_error(error, mixed, 1)

    nan = tmp_path / "nan.jsonl"
    nan.write_text('{"text": "a", "x": 1.5}\n{"text": "b", "x": NaN}\n', encoding="utf-8")
    with pytest.raises(DataError) as error:
        predict_file(FakePredictor(tmp_path), nan, tmp_path / "out.jsonl")
    assert "NaN" in one_line_error(error, nan, 2)

    twice = tmp_path / "twice.jsonl"
    twice.write_text('{"text": "a"}\n{"text": "b", "text": "c"}\n', encoding="utf-8")
    with pytest.raises(DataError) as error:
        predict_file(FakePredictor(tmp_path), twice, tmp_path / "out.jsonl")
    assert "appears more than once" in one_line_error(error, twice, 2)


def test_a_resumed_run_refuses_when_the_prefix_changed(tmp_path):
    source = jsonl(tmp_path / "in.jsonl", [{"text": f"t{i}"} for i in range(6)])
    out = tmp_path / "out.jsonl"

    class Interrupting(FakePredictor):
        def predict_frame(self, frame, column):
            raise KeyboardInterrupt

    partial = tmp_path / ".out.jsonl.partial"
    with pytest.raises(KeyboardInterrupt):
        predict_file(Interrupting(tmp_path), source, out, chunksize=2)
    calls = {"n": 0}

    class StopsSecond(FakePredictor):
        def predict_frame(self, frame, column):
            calls["n"] += 1
            if calls["n"] == 2:
                raise KeyboardInterrupt
            return super().predict_frame(frame, column)

    with pytest.raises(KeyboardInterrupt):
        predict_file(StopsSecond(tmp_path), source, out, chunksize=2)
    assert json.loads((partial / "progress.json").read_text())["columns"][0]["name"] == "text"
    with pytest.raises(DataError, match="had a different prediction prefix"):
        predict_file(FakePredictor(tmp_path), source, out, prediction_prefix="p_")
    assert predict_file(FakePredictor(tmp_path), source, out) == 6
    assert [r["text"] for r in records(out)] == [f"t{i}" for i in range(6)]


@pytest.mark.parametrize("out", ["jsonl", "parquet", "csv"])
def test_a_null_text_gets_null_predictions_not_a_guess(tmp_path, out):
    rows = [{"id": 1, "text": "abc"}, {"id": 2, "text": None}, {"id": 3, "text": ""}]
    source = jsonl(tmp_path / "in.jsonl", rows)
    target = tmp_path / f"out.{out}"
    predict_file(FakePredictor(tmp_path), source, target, chunksize=2)
    if out == "jsonl":
        got = records(target)
    elif out == "parquet":
        got = pq.read_table(target).to_pylist()
    else:
        table = csv_rows(target)
        got = [dict(zip(table[0], record)) for record in table[1:]]
    assert [row["text"] for row in got] == (["abc", "", ""] if out == "csv"
                                            else ["abc", None, ""])
    labels = [row["predicted_label"] for row in got]
    assert labels == (["pos", "", "neg"] if out == "csv" else ["pos", None, "neg"])


def test_a_chunk_of_null_texts_only_still_fixes_the_prediction_columns(tmp_path):
    source = jsonl(tmp_path / "in.jsonl", [{"text": None}, {"text": None}, {"text": "ab"}])
    predict_file(FakePredictor(tmp_path), source, tmp_path / "out.jsonl", chunksize=2)
    assert records(tmp_path / "out.jsonl") == [
        {"text": None, "predicted_label": None, "prob_pos": None},
        {"text": None, "predicted_label": None, "prob_pos": None},
        {"text": "ab", "predicted_label": "neg", "prob_pos": 0.02}]


def test_jsonl_blank_lines_hold_no_row_and_lines_keep_their_file_numbers(tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_bytes(b'\xef\xbb\xbf{"id": 1, "text": "ab"}\r\n\r\n{"id": 2, "text": "abc"}\n\n'
                       b'{"id": 3, "text": 7}\n')
    with pytest.raises(DataError) as error:
        predict_file(FakePredictor(tmp_path), source, tmp_path / "out.jsonl")
    assert "'text' is int" in one_line_error(error, source, 5)
    source.write_bytes(b'{"id": 1, "text": "ab"}\r\n\r\n{"id": 2, "text": "abc"}\n\n')
    predict_file(FakePredictor(tmp_path), source, tmp_path / "out.jsonl")
    assert [row["id"] for row in records(tmp_path / "out.jsonl")] == [1, 2]
    source.write_text("\n \n", encoding="utf-8")
    with pytest.raises(DataError, match="no rows"):
        predict_file(FakePredictor(tmp_path), source, tmp_path / "out2.jsonl")
