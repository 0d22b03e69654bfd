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


@pytest.mark.parametrize("name, content, message", [
    ("b.tsv", b"label\ttext\npos\tfine\nneg\tcaf\xe9 bad\n",
     r"b.tsv:3: bytes are not valid UTF-8 at column 8"),
    ("f.tsv", "label\ttext\npos\tok\nneg\ttoo\tmany\n",
     r"f.tsv:3: 3 fields, expected 2 \(header: label, text\)"),
    # one tab too many in the first row: pandas would make the first column an index and shift
    # every row of the file
    ("x.tsv", "label\ttext\npos\ta\tfilm\nneg\tdull\n", r"x.tsv:2: 3 fields, expected 2"),
    # a missing tab: never a sentence read as a label
    ("m.tsv", "label\ttext\npos\tgood\nneg a dull film\n", r"m.tsv:3: 1 field, expected 2"),
])
def test_a_bad_row_is_named_by_its_line(tmp_path, name, content, message):
    with pytest.raises(DataError, match=message):
        read_labelled(write(tmp_path / name, content))


def test_an_unbalanced_csv_quote_never_merges_rows(tmp_path):
    merged = write(tmp_path / "q.csv", 'label,text\npos,"a film\nneg,dull\npos,"fine"\n')
    with pytest.raises(DataError, match=r"q.csv:2: "):
        read_labelled(merged)
    at_the_end = write(tmp_path / "e.csv", 'label,text\npos,ok\nneg,"never closed\n')
    with pytest.raises(DataError, match=r"e.csv:3: malformed quoting"):
        read_labelled(at_the_end)


def test_quoted_multiline_csv_fields_keep_the_line_numbers_right(tmp_path):
    path = write(tmp_path / "ml.csv", 'label,text\npos,"two\nlines"\nneg,one\n,empty label\n')
    with pytest.raises(DataError, match=r"ml.csv:5: empty value in column 'label'"):
        read_labelled(path)
    data = read_labelled(write(tmp_path / "ok.csv", 'label,text\npos,"two\nlines"\nneg,one\n'))
    assert data.texts == ["two\nlines", "one"] and data.lines == [2, 4]


def test_header_problems(tmp_path):
    with pytest.raises(DataError, match=r"d.tsv:1: column 'text' appears more than once"):
        read_labelled(write(tmp_path / "d.tsv", "text\ttext\na\tb\n"))
    with pytest.raises(DataError, match=r"n.tsv:1: the first line is empty"):
        read_labelled(write(tmp_path / "n.tsv", "\nlabel\ttext\n"))
    bom = read_labelled(write(tmp_path / "bom.tsv", "\ufefflabel\ttext\npos\tgood\n"))
    assert bom.labels == ["pos"]


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


def test_chunks_carry_the_lines_of_their_rows(tmp_path):
    path = write(tmp_path / "c.tsv", "label\ttext\n" + "".join(f"pos\tt{i}\n" for i in range(5)))
    assert [c.attrs["_lines"] for c in iter_table(path, chunksize=2)] == [[2, 3], [4, 5], [6]]


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
