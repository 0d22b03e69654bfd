"""``seqtasks data``, run as a user runs it."""

import json

from helpers import run_cli


def test_prepare_writes_the_files_and_reports_them(tmp_path):
    release = tmp_path / "rt-polaritydata"
    release.mkdir()
    (release / "rt-polarity.pos").write_bytes(b"".join(b"good %d \n" % i for i in range(10)))
    (release / "rt-polarity.neg").write_bytes(b"".join(b"bad %d \n" % i for i in range(10)))
    result = run_cli("data", "prepare", "mr", "--source", tmp_path, "-o", tmp_path / "mr")
    assert result.stdout.count("wrote ") == 3 and "train.tsv: 17 lines" in result.stdout
    assert (tmp_path / "mr" / "valid.tsv").read_text().count("\n") == 3
    rows = [json.loads(line) for line in run_cli(
        "data", "prepare", "mr", "--source", tmp_path, "-o", tmp_path / "mr", "--json"
    ).stdout.splitlines()]
    assert [row["file"].rsplit("/", 1)[1] for row in rows] == \
        ["train.tsv", "valid.tsv", "test.tsv"]
    assert rows[0]["reference_sha256"].startswith("a215366a")
    assert rows[2]["reference_sha256"] is None  # MR's test part has no reference copy


def test_malformed_input_is_one_line_with_file_and_line(tmp_path):
    (tmp_path / "train.txt").write_text("EU NNP B-NP B-ORG\nrejects VBZ\n")
    (tmp_path / "valid.txt").write_text("EU NNP B-NP B-ORG\n")
    result = run_cli("data", "prepare", "conll2003", "--source", tmp_path, "-o", tmp_path / "out",
                     check=False)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'train.txt'}:2: expected 'TOKEN POS CHUNK NER' with IOB tags, got "
        "'rejects VBZ' (one token a line, 4 columns separated by single spaces)"]


def test_options_before_the_name_and_missing_ones(tmp_path):
    (tmp_path / "input.txt").write_text("Speak, speak. All: we know not what we do.\n")
    result = run_cli("data", "prepare", "--source", tmp_path / "input.txt", "-o", tmp_path / "ts",
                     "tinyshakespeare")
    assert "valid.txt: 1 lines" in result.stdout and (tmp_path / "ts" / "train.txt").is_file()
    result = run_cli("data", "prepare", "ptb", check=False)
    assert result.returncode == 2 and "the following arguments are required: --source, -o" \
        in result.stderr and "Traceback" not in result.stderr


def test_list_names_every_dataset_with_its_terms():
    rows = [json.loads(line) for line in run_cli("data", "list", "--json").stdout.splitlines()]
    assert [row["name"] for row in rows] == ["sst2", "mr", "conll2003", "ptb", "tinyshakespeare",
                                             "multi30k", "imdb", "wikipedia"]
    assert all(row["source"].startswith("https://") and row["terms"] for row in rows)
