"""NER pipeline end to end on the bundled sample: train, export, API, fresh-process reload,
evaluate (Python and CLI), batch prediction, every model option, and input errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from helpers import DATA, run_cli, run_fresh_python, task_data, tiny_ner_config

TRAIN, VALID = DATA / "ner" / "train.txt", DATA / "ner" / "valid.txt"
TEXTS = ["U.N. official Ekeus heads for Baghdad .", "Marie Curie was born in Warsaw .",
         "", "  Toyota  builds cars in Japan,\tsaid Ada Lovelace…"]


# ``ner_export`` (tests/conftest.py): the session's tiny NER model, trained once for every file.


def test_export_is_self_describing(ner_export):
    metadata = json.loads((ner_export / "seqtasks.json").read_text())
    assert metadata["task"] == "ner"
    assert metadata["signatures"] == ["serving_default", "tag_tokens"]
    assert metadata["types"] == ["LOC", "MISC", "ORG", "PER"]
    assert metadata["tags"][:5] == ["O", "B-LOC", "I-LOC", "E-LOC", "S-LOC"]
    assert {"f1", "precision", "recall", "per_type", "n_sentences"} <= set(metadata["metrics"])
    scheme = {key: metadata["data"][key] for key in ("file_scheme", "repaired_sentences",
                                                      "repairs", "valid_repaired_sentences")}
    assert scheme == {"file_scheme": "iob2", "repaired_sentences": 0, "repairs": [],
                      "valid_repaired_sentences": 0}
    assert metadata["data"]["train"]["files"][0]["name"] == "train.txt"  # beside the provenance
    for asset in ("words.txt", "chars.txt", "tags.txt"):
        assert (ner_export / "assets" / asset).exists()


def test_predict_tokens_tags_and_exact_character_spans(ner_export):
    import seqtasks

    predictor = seqtasks.load(ner_export.parent)
    rows = predictor.predict(TEXTS)
    assert [len(row["tokens"]) for row in rows] == [10, 7, 0, 10]
    assert rows[0]["tokens"][:5] == ["U", ".", "N", ".", "official"]
    assert rows[2] == {"tokens": [], "tags": [], "entities": []}
    for text, row in zip(TEXTS, rows):
        assert len(row["tags"]) == len(row["tokens"])
        for entity in row["entities"]:
            assert entity["text"] == text[entity["start"]:entity["end"]]
            assert entity["type"] in {"PER", "ORG", "LOC", "MISC"}
    # A sentence from the training data is learned by heart, offsets included.
    assert rows[1]["entities"] == [{"text": "Marie Curie", "type": "PER", "start": 0, "end": 11},
                                   {"text": "Warsaw", "type": "LOC", "start": 24, "end": 30}]


def test_fresh_process_reload_gives_the_in_memory_scores_and_the_same_tags(ner_export):
    """The scores in seqtasks.json came from the in-memory model before export; a new process
    with plain TensorFlow (+ tensorflow_text ops) must reproduce them and the API's output."""
    import seqtasks
    from pipelines import ner

    valid = ner.read(tiny_ner_config(), VALID)
    out = run_fresh_python(f"""
        import json
        import tensorflow as tf
        import tensorflow_text  # registers the tokenizer ops
        model = tf.saved_model.load({str(ner_export)!r})
        tokens = {valid.tokens!r}
        width = max(map(len, tokens))
        padded = tf.constant([t + [""] * (width - len(t)) for t in tokens])
        tagged = model.signatures["tag_tokens"](tokens=padded)
        served = model.signatures["serving_default"](text=tf.constant({TEXTS!r}))
        print(json.dumps({{"tag_tokens": {{k: v.numpy().tolist() for k, v in tagged.items()}},
                           "serving_default": {{k: v.numpy().tolist()
                                               for k, v in served.items()}}}},
                         default=lambda b: b.decode("utf-8")))
    """)
    result = json.loads(out.strip().splitlines()[-1])
    tagged = result["tag_tokens"]
    predicted = [tags[:n] for tags, n in zip(tagged["tags"], tagged["lengths"])]
    from seqtasks.evaluation.metrics import entity_metrics

    metadata = json.loads((ner_export / "seqtasks.json").read_text())
    fresh = entity_metrics(valid.tags, predicted, "iobes")
    assert fresh["f1"] == pytest.approx(metadata["metrics"]["f1"])
    assert fresh["token_accuracy"] == pytest.approx(metadata["metrics"]["token_accuracy"])
    served = result["serving_default"]
    rows = seqtasks.load(ner_export).predict(TEXTS)
    for i, row in enumerate(rows):
        assert served["tags"][i][: served["lengths"][i]] == row["tags"]
        assert served["entity_start"][i][: served["entity_count"][i]] == [
            e["start"] for e in row["entities"]]


def test_evaluate_in_python_and_from_the_cli(ner_export, tmp_path, capsys):
    from pipelines import ner

    metrics = ner.evaluate(ner_export, VALID, plot=tmp_path / "types.png")
    assert metrics["n_sentences"] == 16 and metrics["n_entities"] == 36
    assert set(metrics["per_type"]) == {"PER", "ORG", "LOC", "MISC"}
    assert (tmp_path / "types.png").stat().st_size > 0
    assert "entity F1" in ner.TASK.format_metrics(metrics)
    # Through the CLI's main in process (a real process costs a TensorFlow import; sentiment's
    # test keeps the real-process `evaluate`).
    from pipelines.cli.main import main

    capsys.readouterr()
    assert main(["evaluate", str(ner_export.parent), "--data", str(VALID), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert {"f1", "precision", "recall", "per_type", "n_sentences"} <= set(printed)
    assert printed["f1"] == pytest.approx(metrics["f1"])


def test_batch_prediction_nests_entities_in_jsonl_and_encodes_them_in_csv(ner_export, tmp_path):
    import seqtasks
    from seqtasks.inference.batch import predict_file

    predictor = seqtasks.load(ner_export)
    pd.DataFrame({"id": range(4), "text": TEXTS}).to_csv(tmp_path / "in.csv", index=False)
    for name in ("out.jsonl", "out.csv"):
        assert predict_file(predictor, tmp_path / "in.csv", tmp_path / name, chunksize=3) == 4
    expected = [row["entities"] for row in predictor.predict(TEXTS)]
    lines = (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["entities"] for line in lines] == expected
    frame = pd.read_csv(tmp_path / "out.csv")
    assert list(frame["id"]) == [0, 1, 2, 3]
    assert [json.loads(cell) for cell in frame["entities"]] == expected


# The first (CRF, character LSTM) by default; the other combinations in the slow run.
@pytest.mark.parametrize("overrides", [
    dict(output="crf", char_features="lstm", cell="lstm", scheme="iobes"),
    pytest.param(dict(output="softmax", char_features="cnn", cell="gru", num_layers=2),
                 marks=pytest.mark.slow),
    pytest.param(dict(output="crf", char_features="none", cell="peephole_lstm", casing_dim=0,
                      scheme="iob2"), marks=pytest.mark.slow),
    pytest.param(dict(output="softmax", char_features="none", cell="rnn", bidirectional=False,
                      word_dropout=0.0), marks=pytest.mark.slow),
])
def test_a_training_step_with_every_option(overrides, tmp_path):
    import keras

    from pipelines import ner
    from seqtasks.training.fit_task import compile_model

    config = tiny_ner_config(learning_rate=0.01, **overrides)
    keras.utils.set_random_seed(config.seed)
    data = task_data(ner.TASK, config, TRAIN, VALID, tmp_path)
    train_ds, _ = ner.TASK.datasets(config, data)
    model = compile_model(ner.TASK, config, ner.TASK.build(config, data).model,
                          steps_per_epoch=1)
    features, tags = next(iter(train_ds))
    losses = [float(model.train_on_batch(features, tags)) for _ in range(3)]
    assert np.isfinite(losses).all() and losses[-1] < losses[0]
    decoded = ner.decode(model, config, features, tags >= 0)
    assert keras.ops.shape(decoded) == keras.ops.shape(tags)


def test_data_errors_name_file_and_line(tmp_path):
    from pipelines import ner
    from seqtasks.errors import ConfigError, DataError

    unseen = tmp_path / "unseen.txt"
    unseen.write_text("Bonn B-LOC\n\nThe O\nEuro B-CURRENCY\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"unseen.txt:4: entity type 'CURRENCY' never occurs"):
        task_data(ner.TASK, tiny_ner_config(), TRAIN, unseen, tmp_path)
    with pytest.raises(ConfigError, match="level must be 'word'"):
        task_data(ner.TASK, tiny_ner_config(level="char"), TRAIN, VALID, tmp_path)


def test_cli_reports_a_bad_file_with_its_line(tmp_path, capsys):
    from pipelines.cli.main import main  # in process: a real process costs a TensorFlow import

    bad = tmp_path / "bad.txt"
    bad.write_text("EU NNP B-ORG\nrejects VBZ O\nGerman B-MISC\n", encoding="utf-8")
    assert main(["train", "ner", "--train", str(bad), "--valid", str(VALID), "--out",
                 str(tmp_path / "m")]) == 2
    assert f"error: {bad}:3: 2 columns, expected 3 as on line 1" in capsys.readouterr().err


@pytest.mark.slow
def test_cli_train_then_evaluate(tmp_path):
    out = tmp_path / "model"
    result = run_cli("train", "ner", "--train", TRAIN, "--valid", VALID, "--out", out,
                     "--epochs", "1", "--quiet", "--set", "units=8", "embedding_dim=8",
                     "char_units=8", "output=softmax")
    assert f"exported ner model to {out / '1'}" in result.stdout
    printed = run_cli("evaluate", out, "--data", VALID, "--json").stdout.strip().splitlines()[-1]
    assert json.loads(printed)["n_sentences"] == 16
