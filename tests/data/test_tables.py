import csv

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import write
from seqtasks.data.labelled import check_known_labels, read_labelled
from seqtasks.data.tables import iter_table
from seqtasks.errors import DataError


def test_reads_tsv_csv_jsonl_parquet(tmp_path):
    frame = pd.DataFrame({"label": ["pos", "neg"], "text": ['a "quoted" film', "bad, really"]})
    frame.to_csv(tmp_path / "d.tsv", sep="\t", index=False, quoting=csv.QUOTE_NONE)
    frame.to_csv(tmp_path / "d.csv", index=False)
    frame.to_json(tmp_path / "d.jsonl", orient="records", lines=True)
    frame.to_parquet(tmp_path / "d.parquet")
    for name in ("d.tsv", "d.csv", "d.jsonl", "d.parquet"):
        data = read_labelled(tmp_path / name)
        assert data.texts == frame.text.tolist() and data.labels == frame.label.tolist(), name


def test_empty_file(tmp_path):
    with pytest.raises(DataError, match=r"e.tsv: file is empty"):
        read_labelled(write(tmp_path / "e.tsv", ""))


def test_header_only(tmp_path):
    with pytest.raises(DataError, match="header but no rows"):
        read_labelled(write(tmp_path / "h.tsv", "label\ttext\n"))


def test_missing_column_names_found_columns(tmp_path):
    path = write(tmp_path / "m.tsv", "sentiment\ttext\npos\tgood\n")
    with pytest.raises(DataError, match=r"m.tsv:1: missing column 'label' \(found columns: "
                                        r"sentiment, text"):
        read_labelled(path)


def test_non_utf8_names_line(tmp_path):
    path = write(tmp_path / "b.tsv", b"label\ttext\npos\tfine\nneg\tcaf\xe9 bad\n")
    with pytest.raises(DataError, match=r"b.tsv:3: bytes are not valid UTF-8 at column 8"):
        read_labelled(path)


def test_wrong_field_count_names_line(tmp_path):
    path = write(tmp_path / "f.tsv", "label\ttext\npos\tok\nneg\ttoo\tmany\n")
    with pytest.raises(DataError, match=r"f.tsv:3: cannot parse"):
        read_labelled(path)


def test_empty_label_names_line(tmp_path):
    path = write(tmp_path / "l.tsv", "label\ttext\npos\tok\n\tno label\n")
    with pytest.raises(DataError, match=r"l.tsv:3: empty value in column 'label'"):
        read_labelled(path)


def test_empty_text_is_allowed(tmp_path):
    data = read_labelled(write(tmp_path / "t.tsv", "label\ttext\npos\t\n"))
    assert data.texts == [""]


def test_unknown_label_at_evaluation(tmp_path):
    data = read_labelled(write(tmp_path / "u.tsv", "label\ttext\npos\ta\nmixed\tb\n"))
    with pytest.raises(DataError, match=r"u.tsv:3: label 'mixed' was never seen in training "
                                        r"\(the model knows: neg, pos\)"):
        check_known_labels(data, ["neg", "pos"])


def test_bad_jsonl_line(tmp_path):
    path = write(tmp_path / "j.jsonl", '{"label": "pos", "text": "a"}\n{"label": oops}\n')
    with pytest.raises(DataError, match=r"j.jsonl:2: invalid JSON"):
        read_labelled(path)


def test_unknown_extension(tmp_path):
    with pytest.raises(DataError, match="unknown file type '.xlsx'"):
        read_labelled(write(tmp_path / "x.xlsx", "a"))


def test_chunks_carry_their_first_line(tmp_path):
    path = write(tmp_path / "c.tsv", "label\ttext\n" + "".join(f"pos\tt{i}\n" for i in range(5)))
    assert [c.attrs["_line"] for c in iter_table(path, chunksize=2)] == [2, 4, 6]


safe_text = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp"),
                                  blacklist_characters="\t\r\n\x85"), max_size=30)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["pos", "neg", "neutral"]), safe_text),
                min_size=1, max_size=20))
def test_tsv_round_trip_keeps_every_row_in_order(tmp_path_factory, rows):
    path = tmp_path_factory.mktemp("p") / "rows.tsv"
    path.write_text("label\ttext\n" + "".join(f"{l}\t{t}\n" for l, t in rows), encoding="utf-8")
    data = read_labelled(path)
    assert list(zip(data.labels, data.texts)) == rows
    assert data.lines == list(range(2, len(rows) + 2))
