"""Every CLI command that reads a table, on each kind of corrupted file: exit status 2, one line
naming file and line, nothing written. In-process (``main([...])``), as the console script runs."""

import pytest

from helpers import DATA
from pipelines.cli.main import main

VALID = DATA / "sentiment" / "valid.tsv"
GOOD = VALID.read_text(encoding="utf-8").splitlines()

CORRUPTIONS = {  # name -> (file name, bytes, line the error must name)
    "extra field": ("extra.tsv", "\n".join([GOOD[0], GOOD[1] + "\textra", *GOOD[2:]]), 2),
    "missing field": ("missing.tsv", "\n".join([*GOOD[:3], GOOD[3].replace("\t", " "),
                                                *GOOD[4:]]), 4),
    "unclosed quote": ("quote.csv", 'label,text\npos,"a fine film\nneg,dull\nneg,bad "x"\n', 2),
    "bad bytes": ("bytes.tsv", "\n".join(GOOD[:5]).encode() + b"\n\xff\xfe\tbroken\n", 6),
}


def write_case(tmp_path, name):
    filename, content, line = CORRUPTIONS[name]
    path = tmp_path / filename
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content + "\n", encoding="utf-8")
    return path, line


def assert_one_line_error(capsys, path, line):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {path}:{line}: "), err


@pytest.mark.parametrize("name", CORRUPTIONS)
def test_train_refuses_a_corrupted_file_and_writes_nothing(tmp_path, capsys, name):
    path, line = write_case(tmp_path, name)
    out = tmp_path / "model"
    assert main(["train", "sentiment", "--train", str(path), "--valid", str(VALID),
                 "--out", str(out), "--quiet"]) == 2
    assert_one_line_error(capsys, path, line)
    assert not out.exists()


@pytest.mark.parametrize("name", CORRUPTIONS)
def test_evaluate_refuses_a_corrupted_file(sentiment_export, tmp_path, capsys, name):
    path, line = write_case(tmp_path, name)
    assert main(["evaluate", str(sentiment_export[0]), "--data", str(path), "--json"]) == 2
    assert_one_line_error(capsys, path, line)


@pytest.mark.parametrize("name", CORRUPTIONS)
def test_predict_refuses_a_corrupted_file_and_writes_nothing(sentiment_export, tmp_path, capsys,
                                                            name):
    path, line = write_case(tmp_path, name)
    output = tmp_path / "scored.tsv"
    assert main(["predict", str(sentiment_export[0]), "--input", str(path), "--output",
                 str(output), "--quiet"]) == 2
    assert_one_line_error(capsys, path, line)
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]
