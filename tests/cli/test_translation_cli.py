"""The translation and autoencoder commands, as a user runs them."""

import json

import pandas as pd
import pytest

from helpers import DATA, run_cli
from seqtasks.data.parallel import read_parallel

TRAIN, VALID = DATA / "translation" / "train.tsv", DATA / "translation" / "valid.tsv"
TINY = ["embedding_dim=16", "units=16", "attention_units=8", "max_vocab_size=300",
        "max_length=24", "batch_size=32"]


def aligned_files(tmp_path, tsv, name):
    data = read_parallel(tsv)
    source, target = tmp_path / f"{name}.de", tmp_path / f"{name}.en"
    source.write_text("".join(f"{s}\n" for s in data.sources), encoding="utf-8")
    target.write_text("".join(f"{t}\n" for t in data.targets), encoding="utf-8")
    return source, target


def test_bad_parallel_data_is_one_clear_line(tmp_path, capsys):
    # Through the CLI's main in this process: a real process per refusal cost a TensorFlow import.
    from pipelines.cli.main import main

    source, target = aligned_files(tmp_path, VALID, "valid")
    target.write_text("".join(target.read_text().splitlines(keepends=True)[:-2]))
    assert main(list(map(str, ["train", "translate", "--train", source, target, "--valid", VALID,
                               "--out", tmp_path / "m"]))) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        f"error: {source}:79: {source} has 80 lines but {target} has 78 (the files must be "
        "aligned line by line)"]
    with pytest.raises(SystemExit) as refused:  # argparse's refusal, as the console script exits
        main(list(map(str, ["train", "translate", "--train", source, target, VALID, "--valid",
                            VALID, "--out", tmp_path / "m"])))
    assert refused.value.code == 2
    assert "takes one file, or two aligned files" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["valid.de", "valid.en"]


@pytest.mark.slow
def test_train_evaluate_attention_and_predict_from_the_command_line(tmp_path):
    train = aligned_files(tmp_path, TRAIN, "train")
    valid = aligned_files(tmp_path, VALID, "valid")
    out = tmp_path / "model"
    result = run_cli("train", "translate", "--train", *train, "--valid", *valid, "--out", out,
                     "--epochs", "2", "--quiet", "--set", *TINY, "sampling_schedule=linear")
    assert f"exported translate model to {out / '1'}" in result.stdout
    metadata = json.loads((out / "1" / "seqtasks.json").read_text())
    assert metadata["training"]["history"]["sampling_probability"][0] > 0

    evaluated = run_cli("evaluate", out, "--data", *valid, "--json")
    metrics = json.loads(evaluated.stdout.strip().splitlines()[-1])
    assert metrics["n"] == 80 and {"bleu", "chrf"} <= set(metrics)
    assert metrics["bleu"] == pytest.approx(metadata["metrics"]["bleu"])  # same decoding
    assert evaluated.stderr.strip() == ""
    assert "BLEU" in run_cli("evaluate", out, "--data", VALID).stdout  # a TSV works too

    plot = tmp_path / "attention.png"
    run_cli("attention", out, "--text", "Der Mann liest ein Buch.", "--out", plot)
    assert plot.read_bytes()[:4] == b"\x89PNG"

    frame = pd.DataFrame({"id": range(3), "text": ["Guten Morgen!", "", "Wir spielen."]})
    frame.to_csv(tmp_path / "in.csv", index=False)
    run_cli("predict", out, "--input", tmp_path / "in.csv", "--output", tmp_path / "out.jsonl")
    rows = pd.read_json(tmp_path / "out.jsonl", lines=True)
    assert list(rows.columns) == ["id", "text", "translation"] and len(rows) == 3


@pytest.mark.slow
def test_autoencoder_from_the_command_line(tmp_path):
    sentences = tmp_path / "sentences.txt"
    sentences.write_text("".join(f"{t}\n" for t in read_parallel(TRAIN).targets))
    out = tmp_path / "autoencoder"
    run_cli("train", "autoencoder", "--train", sentences, "--valid", sentences, "--out", out,
            "--epochs", "1", "--quiet", "--set", *TINY)
    metrics = json.loads(run_cli("evaluate", out, "--data", sentences, "--json")
                         .stdout.strip().splitlines()[-1])
    assert metrics["n"] == 420 and "exact_match" in metrics
    result = run_cli("attention", out, "--text", "x", "--out", tmp_path / "a.png", check=False)
    assert result.returncode == 2 and "trained with attention=none" in result.stderr
