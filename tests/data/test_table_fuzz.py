"""Corrupted TSV / CSV files: the reader returns exactly the rows written, or stops with a
one-line error naming the corrupted line, never a shifted or merged row.

Each case writes a valid labelled file, applies one corruption to one data row and reads it.
``-m slow`` runs many more cases (the fast default keeps the suite quick).
"""

import csv
import io
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seqtasks.data.labelled import read_labelled
from seqtasks.errors import DataError

CORRUPTIONS = ("none", "extra_field", "missing_field", "bad_bytes", "leading_quote",
               "inner_quote", "truncated")
LABELS = st.sampled_from(["pos", "neg"])
TEXTS = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp"),
                              blacklist_characters="\t\r\n\x85\ufeff\""), min_size=1, max_size=20)
FAST_CASES = 200
SLOW_CASES = int(os.environ.get("SEQTASKS_FUZZ_CASES", "10000"))


def encode(rows, fmt: str) -> list[str]:
    """One physical line per row (texts have no line breaks), header first."""
    if fmt == "tsv":
        return ["label\ttext"] + [f"{label}\t{text}" for label, text in rows]
    lines = []
    for record in [("label", "text"), *rows]:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="").writerow(record)
        lines.append(buffer.getvalue())
    return lines


def corrupt(lines: list[str], fmt: str, kind: str, row: int) -> tuple[bytes, str | None]:
    """The file's bytes and the problem the reader must report at line ``row + 2`` (None: the
    file stays valid and must read back as written)."""
    delimiter = "\t" if fmt == "tsv" else ","
    index = row + 1
    line = lines[index]
    if kind == "extra_field":
        lines[index] = line + delimiter + "more"
        problem = "3 fields, expected 2"
    elif kind == "missing_field":
        label, _, text = line.partition(delimiter)
        lines[index] = label + " " + text.replace(delimiter, " ").strip('"')
        problem = "1 field, expected 2"
    elif kind == "bad_bytes":
        data = "\n".join(lines).encode() + b"\n"
        start = len("\n".join(lines[:index]).encode()) + 1
        return data[:start] + b"\xff" + data[start:], "bytes are not valid UTF-8"
    elif kind == "leading_quote" and fmt == "csv":
        label, _, text = line.partition(",")
        lines[index] = f'{label},"{text.strip(chr(34))}'  # a quote that never closes
        problem = ""  # any of our messages, at this line
    elif kind == "truncated":
        lines = lines[: index + 1]
        problem = None
    else:  # none; inner quotes; a TSV leading quote: all literal text, still valid
        problem = None
    return ("\n".join(lines) + "\n").encode(), problem


def expected_rows(lines: list[str], fmt: str) -> list[tuple[str, str]]:
    reader = csv.reader(lines[1:], delimiter="\t" if fmt == "tsv" else ",",
                        quoting=csv.QUOTE_NONE if fmt == "tsv" else csv.QUOTE_MINIMAL)
    return [tuple(record) for record in reader]


def check_case(tmp_path, rows, fmt, kind, row_pick):
    row = row_pick % len(rows)
    if kind == "inner_quote":
        rows = [(label, f'a "{text}" b' if i == row else text)
                for i, (label, text) in enumerate(rows)]
    lines = encode(rows, fmt)
    if kind == "leading_quote" and fmt == "tsv":
        label, _, text = lines[row + 1].partition("\t")
        lines[row + 1] = f'{label}\t"{text}'
    data, problem = corrupt(list(lines), fmt, kind, row)
    path = tmp_path / f"case.{fmt}"
    path.write_bytes(data)
    if problem is None:
        written = expected_rows(data.decode().splitlines(), fmt)
        read = read_labelled(path)
        assert list(zip(read.labels, read.texts)) == written
        assert read.lines == list(range(2, len(written) + 2))
    else:
        with pytest.raises(DataError) as error:
            read_labelled(path)
        message = str(error.value)
        assert message.startswith(f"{path}:{row + 2}: "), message
        assert problem in message and "\n" not in message


def fuzz(max_examples: int):
    @settings(max_examples=max_examples, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(rows=st.lists(st.tuples(LABELS, TEXTS), min_size=1, max_size=12),
           fmt=st.sampled_from(["tsv", "csv"]), kind=st.sampled_from(CORRUPTIONS),
           row_pick=st.integers(0, 100))
    def run(tmp_path, rows, fmt, kind, row_pick):
        check_case(tmp_path, rows, fmt, kind, row_pick)

    return run


test_corrupted_tables_fast = fuzz(FAST_CASES)
test_corrupted_tables_many = pytest.mark.slow(fuzz(SLOW_CASES))


@pytest.mark.parametrize("fmt", ["tsv", "csv"])
@pytest.mark.parametrize("kind", CORRUPTIONS)
@pytest.mark.parametrize("row_pick", [0, 1, 3])
def test_every_corruption_in_every_format(tmp_path, fmt, kind, row_pick):
    rows = [("pos", "a gorgeous, witty film"), ("neg", "dull"), ("pos", "fine"),
            ("neg", "it 's \"bad\" , really")]
    check_case(tmp_path, rows, fmt, kind, row_pick)
