"""MODEL_CARD.md: written with every export, inside the folder renamed into place, its numbers
those of seqtasks.json."""

from __future__ import annotations

import hashlib
import json

import pytest

from helpers import DATA
from seqtasks.export import savedmodel
from seqtasks.export.model_card import MODEL_CARD_FILE, _value, model_card


def test_every_number_of_the_card_is_the_one_in_seqtasks_json(sentiment_export):
    export_dir, config = sentiment_export
    card = (export_dir / MODEL_CARD_FILE).read_text(encoding="utf-8")
    metadata = json.loads((export_dir / "seqtasks.json").read_text())
    assert card.startswith(f"# Model card: sentiment (classifier), version {metadata['version']}")
    for name in ("accuracy", "macro_f1", "n"):
        assert f"| {name} | " in card and _value(metadata["metrics"][name]) in card
    train_file = DATA / "sentiment" / "train.tsv"
    sha256 = hashlib.sha256(train_file.read_bytes()).hexdigest()
    facts = metadata["data"]["train"]
    assert facts["source"] == "file" and facts["files"][0]["sha256"] == sha256
    assert facts["files"][0]["lines"] == train_file.read_bytes().count(b"\n")
    assert f"| train | file | `train.tsv` | {facts['examples']:,} |" in card and sha256 in card
    training = metadata["training"]
    assert f"train_seconds: {_value(training['train_seconds'])}" in card
    assert training["hardware"]["cpu_threads"] >= 1 and "cpu_threads" in card
    assert "`neg`, `pos`" in card  # the labels it knows
    assert f"max_length:" in card and f"{config.max_length}" in card
    for how in ("seqtasks predict", "seqtasks serve", "seqtasks-model-server", "curl",
                "seqtasks.load"):
        assert how in card


def test_the_card_follows_the_metadata_it_is_given():
    metadata = {"task": "ner", "kind": "tagger", "version": 3, "tags": ["O", "B-PER", "I-PER"],
                "config": {"embeddings": "glove-6b-50d", "lowercase": False, "time_budget": None},
                "metrics": {"f1": 0.8123456, "data": "valid.txt"},
                "main_score": {"name": "f1", "mode": "max"}}
    card = model_card(metadata)
    assert "version 3" in card and "The 3 tags it knows" in card
    assert "| f1 | **0.812346** (main score) |" in card
    assert "`embeddings`: glove-6b-50d" in card
    assert "time_budget: none" in card and "lowercase:   false" in card
    assert "## Training data" not in card  # none recorded: no empty table


@pytest.fixture(scope="module")
def tiny_model():
    import keras
    import tensorflow as tf

    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
    def length(text):
        return {"length": model(tf.cast(tf.strings.length(text), tf.float32)[:, None])}

    return model, {"serving_default": length}


def test_the_card_is_written_inside_the_atomic_export(tiny_model, tmp_path, monkeypatch):
    model, signatures = tiny_model
    version = savedmodel.export_savedmodel(tmp_path, model, [], signatures, {"task": "t"})
    assert (version / MODEL_CARD_FILE).is_file() and (version / "seqtasks.json").is_file()

    def fails(*_):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(savedmodel, "write_model_card", fails)
    with pytest.raises(OSError):
        savedmodel.export_savedmodel(tmp_path, model, [], signatures, {"task": "t"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["1"]  # no half-written version
