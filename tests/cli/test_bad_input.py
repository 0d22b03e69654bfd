"""Every CLI command that reads data, on each kind of corrupted file: exit status 2, one line
naming file and line, nothing written. In-process (``main([...])``), as the console script runs:
tables for sentiment (train, evaluate, predict), CoNLL for NER and parallel text for translation
(train and evaluate)."""

import pytest

from helpers import DATA, write_lines
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


NER_GOOD = (DATA / "ner" / "valid.txt").read_text(encoding="utf-8").splitlines()
PAIRS_GOOD = (DATA / "translation" / "valid.tsv").read_text(encoding="utf-8").splitlines()


def first_token_line(lines):
    return next(i for i, line in enumerate(lines) if line.strip() and
                not line.startswith("-DOCSTART-"))


def ner_case(tmp_path, name):
    lines, index = list(NER_GOOD), first_token_line(NER_GOOD) + 1  # the second token line
    if name == "missing tag":
        lines[index] = lines[index].split()[0]
    elif name == "extra column":
        lines[index] += " extra"
    path = write_lines(tmp_path / "corrupt.txt", lines, index + 1 if name == "bad bytes" else None)
    return path, index + 1


def pairs_case(tmp_path, name):
    lines, index = list(PAIRS_GOOD), 3
    if name == "missing tab":
        lines[index] = lines[index].replace("\t", " ")
    elif name == "one side empty":
        lines[index] = lines[index].split("\t")[0] + "\t"
    path = write_lines(tmp_path / "corrupt.tsv", lines, index + 1 if name == "bad bytes" else None)
    return path, index + 1


@pytest.mark.parametrize("name", ["missing tag", "extra column", "bad bytes"])
def test_ner_train_and_evaluate_refuse_a_corrupted_conll_file(ner_export, tmp_path, capsys, name):
    path, line = ner_case(tmp_path, name)
    out = tmp_path / "model"
    assert main(["train", "ner", "--train", str(path), "--valid", str(DATA / "ner" / "valid.txt"),
                 "--out", str(out), "--quiet"]) == 2
    assert_one_line_error(capsys, path, line)
    assert not out.exists()
    assert main(["evaluate", str(ner_export), "--data", str(path)]) == 2
    assert_one_line_error(capsys, path, line)


@pytest.mark.parametrize("name", ["missing tab", "one side empty", "bad bytes"])
def test_translate_train_and_evaluate_refuse_a_corrupted_parallel_file(
        translation_export, tmp_path, capsys, name):
    path, line = pairs_case(tmp_path, name)
    out = tmp_path / "model"
    assert main(["train", "translate", "--train", str(path), "--valid",
                 str(DATA / "translation" / "valid.tsv"), "--out", str(out), "--quiet"]) == 2
    assert_one_line_error(capsys, path, line)
    assert not out.exists()
    assert main(["evaluate", str(translation_export[0]), "--data", str(path)]) == 2
    assert_one_line_error(capsys, path, line)
