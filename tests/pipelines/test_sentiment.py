"""Sentiment end to end: build, export, reload in a fresh process, API, CLI, bad input."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

import seqtasks
from helpers import DATA, ROOT, run_cli, serve_in_fresh_process, tiny_sentiment_config
from pipelines import sentiment
from seqtasks.errors import DataError, ModelError
from seqtasks.text import Vocabulary
from seqtasks.text.encoder import TextEncoder
from seqtasks.training import lifecycle
from seqtasks.training.backup import has_backup

TRAIN, VALID = DATA / "sentiment" / "train.tsv", DATA / "sentiment" / "valid.tsv"
TEXTS = ["a gorgeous , witty film", "", "dull and lifeless", "it 's a BAD, bad movie!",
         "unseen words zzxq qqzx"]


# Max pooling by default; each other pooling (its own serving graph) in the slow run.
@pytest.mark.parametrize("pooling", [
    pytest.param(pooling, marks=() if pooling == "max" else pytest.mark.slow)
    for pooling in sentiment.POOLINGS])
def test_export_reloaded_in_a_fresh_process_predicts_as_in_memory(tmp_path, pooling):
    config = tiny_sentiment_config(pooling=pooling, cell="peephole_lstm" if pooling == "last"
                                   else "lstm")
    vocabulary = Vocabulary.build([t.split() for t in TEXTS])
    encoder = TextEncoder(vocabulary, config.level, config.lowercase, config.max_length)
    model = sentiment.build(config, len(vocabulary), 3)
    labels = ["neg", "neutral", "pos"]
    in_memory = sentiment.serving_functions(model, encoder, labels)["serving_default"](
        tf.constant(TEXTS))
    data = sentiment.SentimentData(None, None, labels, encoder)
    export_dir = lifecycle.export(sentiment.TASK, config, model, data, tmp_path / "m", {}, {},
                                  tmp_path)
    served = serve_in_fresh_process(export_dir, TEXTS)
    np.testing.assert_allclose(served["probabilities"], in_memory["probabilities"].numpy(),
                               atol=1e-6)
    assert list(served["label"]) == [x.decode() for x in in_memory["label"].numpy()]


def test_export_layout_and_metadata(sentiment_export):
    export_dir, config = sentiment_export
    assert export_dir.name == "1"
    files = {p.name for p in export_dir.iterdir()}
    assert {"saved_model.pb", "variables", "assets", "seqtasks.json", "confusion_matrix.png",
            "learning_curves.png"} <= files
    assert not (export_dir.parent / ".resume").exists()  # finished runs leave no resume state
    meta = json.loads((export_dir / "seqtasks.json").read_text())
    assert meta["task"] == "sentiment" and meta["labels"] == ["neg", "pos"]
    assert meta["config"]["units"] == config.units
    assert meta["metrics"]["n"] == 120
    assert {"tensorflow", "keras", "tensorflow_text", "seqtasks"} <= set(meta["library_versions"])
    # The embedding -> BiLSTM chain is served through input tables, and the export says so.
    [tables] = meta["input_tables"]
    assert tables["rows"] == meta["vocab_size"] and tables["columns"] == 2 * 4 * config.units
    assert tables["bytes"] == tables["rows"] * tables["columns"] * 4
    assert "input tables of" in (export_dir / "MODEL_CARD.md").read_text()
    assert (export_dir / "assets" / "labels.txt").read_text().split() == ["neg", "pos"]
    assert Vocabulary.load(export_dir / "assets" / "vocab.txt").tokens[:4] == [
        "[PAD]", "[UNK]", "[BOS]", "[EOS]"]


def test_a_tiny_seeded_run_learns(sentiment_export):
    """Two epochs of the tiny model beat always answering the majority label, on the sentences
    it trained on by a wide margin and on the held-out ones by a clear one."""
    export_dir, _ = sentiment_export
    for path, margin in ((TRAIN, 0.15), (VALID, 0.05)):
        labels = pd.read_csv(path, sep="\t", quoting=3, dtype=str)["label"]
        majority = labels.value_counts(normalize=True).max()
        assert sentiment.evaluate(export_dir, path)["accuracy"] >= majority + margin, path


def test_api_accepts_lists_series_and_frames(sentiment_export):
    export_dir, _ = sentiment_export
    predictor = seqtasks.load(export_dir.parent)
    rows = predictor.predict(TEXTS)
    assert len(rows) == len(TEXTS)
    for row in rows:
        assert row["label"] in ("neg", "pos")
        assert sum(row["probabilities"]) == pytest.approx(1.0, abs=1e-5)
        by_label = predictor.probabilities_by_label(row)
        assert list(by_label) == predictor.labels
        assert row["label"] == max(by_label, key=by_label.get)
    assert predictor.predict(pd.Series(TEXTS)) == rows
    frame = predictor.predict(pd.DataFrame({"id": range(5), "review": TEXTS}), text_column="review")
    assert list(frame.columns) == ["id", "review", "predicted_label", "prob_neg", "prob_pos"]
    assert frame.predicted_label.tolist() == [r["label"] for r in rows]
    assert predictor.predict([]) == []


def test_api_rejects_bad_inputs(sentiment_export):
    predictor = seqtasks.load(sentiment_export[0])
    with pytest.raises(DataError, match="item 1 is int, expected str"):
        predictor.predict(["ok", 3])
    with pytest.raises(DataError, match="missing column 'text'"):
        predictor.predict(pd.DataFrame({"review": ["x"]}))
    with pytest.raises(ModelError, match="not a seqtasks export"):
        seqtasks.load(DATA)


def test_inputs_longer_than_max_length_are_truncated(sentiment_export):
    export_dir, config = sentiment_export
    predictor = seqtasks.load(export_dir)
    head = " ".join(["great"] * config.max_length)
    long = head + " terrible" * 5000
    a, b = predictor.predict([head, long])
    assert a["probabilities"] == pytest.approx(b["probabilities"], abs=1e-6)


@pytest.mark.slow  # 6 s: a saved_model_cli process
def test_saved_model_cli_runs_the_export(sentiment_export):
    result = run_cli("saved-model-cli", "run", "--dir", sentiment_export[0], "--tag_set", "serve",
                     "--signature_def", "serving_default", "--input_exprs",
                     'text=["a gorgeous film", ""]')
    assert "Result for output key label" in result.stdout
    assert "Result for output key probabilities" in result.stdout


def test_cli_evaluate_json_and_text(sentiment_export, capsys):
    # The one real-process `evaluate` of the default run (a user's command, start-up noise and
    # all); the other tasks' CLI evaluations run through the CLI's main in process.
    from pipelines.cli.main import main

    export_root = sentiment_export[0].parent
    result = run_cli("evaluate", export_root, "--data", VALID, "--json")
    metrics = json.loads(result.stdout.strip().splitlines()[-1])
    assert metrics["n"] == 120 and "macro_f1" in metrics
    meta = json.loads((sentiment_export[0] / "seqtasks.json").read_text())
    assert metrics["accuracy"] == pytest.approx(meta["metrics"]["accuracy"])
    assert result.stderr.strip() == ""  # no TensorFlow start-up noise for users
    assert main(["evaluate", str(export_root), "--data", str(VALID)]) == 0
    text = capsys.readouterr().out
    assert "accuracy" in text and "confusion matrix" in text


@pytest.mark.parametrize("suffix", [".tsv", ".csv", ".jsonl", ".parquet"])
def test_batch_prediction_keeps_every_row_in_order_with_its_columns(sentiment_export, tmp_path,
                                                                    suffix, capsys):
    from pipelines.cli.main import main

    source = pd.read_csv(VALID, sep="\t", quoting=3, dtype=str, keep_default_na=False)
    source.insert(0, "id", [f"row{i}" for i in range(len(source))])
    source.loc[3, "text"] = ""
    path = tmp_path / f"in{suffix}"
    if suffix == ".tsv":
        source.to_csv(path, sep="\t", index=False, quoting=3)
    elif suffix == ".csv":
        source.to_csv(path, index=False)
    elif suffix == ".jsonl":
        source.to_json(path, orient="records", lines=True)
    else:
        source.to_parquet(path)
    out = tmp_path / f"out{suffix}"
    args = ["predict", str(sentiment_export[0].parent), "--input", str(path), "--output",
            str(out), "--chunk-size", "7"]
    if suffix == ".tsv":  # one real process, as a user runs it
        printed = run_cli(*args).stdout
    else:  # the other formats through the CLI's main in process (a process: a TensorFlow import)
        assert main(args) == 0
        printed = capsys.readouterr().out
    assert f"wrote {len(source)} rows" in printed
    if suffix == ".tsv":
        got = pd.read_csv(out, sep="\t", quoting=3, dtype=str, keep_default_na=False)
    elif suffix == ".csv":
        got = pd.read_csv(out, dtype=str, keep_default_na=False)
    elif suffix == ".jsonl":
        got = pd.read_json(out, lines=True, dtype=False)
    else:
        got = pd.read_parquet(out)
    assert list(got.columns) == ["id", "label", "text", "predicted_label", "prob_neg", "prob_pos"]
    assert got.id.tolist() == source.id.tolist() and got.text.tolist() == source.text.tolist()
    expected = [r["label"] for r in seqtasks.load(sentiment_export[0]).predict(source.text)]
    assert got.predicted_label.tolist() == expected


def test_cli_errors_are_one_line_and_leave_nothing_behind(sentiment_export, tmp_path, capsys):
    # Through the CLI's main in this process (a real process per case cost a TensorFlow import
    # each); tests/cli/test_grammar.py and the tests above run the real console command.
    from pipelines.cli.main import main

    root = sentiment_export[0].parent
    unknown = tmp_path / "unknown.tsv"
    unknown.write_text("label\ttext\npos\tfine\nmixed\tso so\n")
    cases = [
        (["evaluate", root, "--data", unknown], "unknown.tsv:3: label 'mixed' was never seen"),
        (["evaluate", DATA, "--data", VALID], "not a seqtasks export"),
        (["predict", root, "--input", tmp_path / "missing.tsv", "--output", tmp_path / "o.tsv"],
         "missing.tsv: file not found"),
        (["predict", root, "--input", VALID, "--output", tmp_path / "no" / "o.tsv"],
         "does not exist (create it first)"),
        (["predict", root, "--input", VALID, "--output", tmp_path / "o.tsv", "--text-column",
          "review"], "missing column 'review'"),
        (["train", "sentiment", "--train", TRAIN, "--valid", VALID, "--out", tmp_path / "m",
          "--set", "cell=lsmt"], "Unknown cell 'lsmt'"),
    ]
    for args, message in cases:
        status = main(list(map(str, args)))
        err = capsys.readouterr().err
        assert status == 2, (args, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and message in lines[0], (args, err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["unknown.tsv"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write to read-only directories")
def test_unwritable_output_directory(sentiment_export, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    result = run_cli("predict", sentiment_export[0], "--input", VALID, "--output",
                     locked / "o.tsv", check=False)
    assert result.returncode == 2 and "Permission denied" in result.stderr
    assert list(locked.iterdir()) == []


def test_failed_write_keeps_the_previous_output(sentiment_export, tmp_path, monkeypatch):
    from seqtasks.inference import batch

    out = tmp_path / "out.tsv"
    out.write_text("previous results\n")
    predictor = seqtasks.load(sentiment_export[0])
    calls = {"n": 0}
    real = predictor.predict_frame

    def fail_on_second_chunk(frame, column):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError(28, "No space left on device")
        return real(frame, column)

    monkeypatch.setattr(predictor, "predict_frame", fail_on_second_chunk)
    with pytest.raises(OSError):
        batch.predict_file(predictor, VALID, out, chunksize=50)
    assert out.read_text() == "previous results\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.tsv"]


@pytest.mark.slow
def test_cli_train_resumes_after_interrupt_and_adds_versions(tmp_path):
    out = tmp_path / "model"
    args = ["train", "sentiment", "--train", TRAIN, "--valid", VALID, "--out", out, "--quiet",
            "--set", "embedding_dim=8", "units=8", "epochs=100", "early_stopping_patience=100"]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)}
    # As at a terminal: a shell's background job (how CI may run) starts with SIGINT ignored,
    # and Python keeps an ignored SIGINT ignored.
    process = subprocess.Popen([sys.executable, "-m", "pipelines.cli", *map(str, args)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    backup = out / ".resume" / "backup"
    deadline = time.monotonic() + 120
    while not has_backup(backup):  # a finished epoch's weights, renamed into place
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.05)
    time.sleep(0.2)
    for _ in range(5):  # Ctrl-C again if the process is still running 3 s later
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=3)
            break
        except subprocess.TimeoutExpired:
            continue
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130 and "rerun the same command to resume" in stderr
    assert not (out / "1").exists()

    changed = run_cli(*args[:-3], "epochs=3", "early_stopping_patience=100", check=False)
    assert changed.returncode == 2 and "different config (changed: epochs, units)" in changed.stderr
    result = run_cli(*args)
    assert "exported sentiment model to" in result.stdout
    assert "resuming the interrupted run" in result.stderr
    training = json.loads((out / "1" / "seqtasks.json").read_text())["training"]
    assert training["resumed"] is True and training["epochs_run"] < 100
    run_cli(*args[:-2], "epochs=1", "early_stopping_patience=1")
    assert sorted(p.name for p in out.iterdir() if p.name.isdigit()) == ["1", "2"]


@pytest.mark.slow
def test_quickstart_runs(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-m", "pipelines.quickstart", "--epochs", "1",
                             "--out", str(tmp_path / "q")], capture_output=True, text=True,
                            env=env, cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "validation accuracy" in result.stdout
    assert result.stdout.count("  a gorgeous") + result.stdout.count("the plot") >= 2
