"""``train`` takes in-memory data (each task's natural form) as well as paths, and the caller's
Keras callbacks."""

from __future__ import annotations

import json

import keras
import pandas as pd
import pytest

import seqtasks
from helpers import DATA, tiny_sentiment_config
from seqtasks.errors import ConfigError, DataError


def sentiment_frame(split: str) -> pd.DataFrame:
    return pd.read_csv(DATA / "sentiment" / f"{split}.tsv", sep="\t", quoting=3, dtype=str)


def test_sentiment_trains_from_a_dataframe_and_pairs_with_a_user_callback(tmp_path):
    from pipelines import sentiment

    train = sentiment_frame("train")
    valid = list(sentiment_frame("valid")[["text", "label"]].itertuples(index=False, name=None))
    seen = []
    callback = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: seen.append((epoch, logs["val_accuracy"])))
    export_dir = sentiment.train(tiny_sentiment_config(epochs=2, early_stopping_patience=5),
                                 train, valid, tmp_path / "model", verbose=0,
                                 callbacks=[callback])
    assert [epoch for epoch, _ in seen] == [0, 1]
    metadata = json.loads((export_dir / "seqtasks.json").read_text())
    assert metadata["data"]["train"]["source"] == "in-memory"
    assert metadata["data"]["train"]["examples"] == len(train)
    assert metadata["data"]["valid"]["examples"] == len(valid)
    assert metadata["training"]["history"]["val_accuracy"] == pytest.approx([v for _, v in seen])
    assert not (tmp_path / "model" / ".resume").exists()  # the written data went with the run
    assert "| train | in-memory |" in (export_dir / "MODEL_CARD.md").read_text()
    assert seqtasks.load(export_dir).predict("a witty film")["label"] in ("neg", "pos")


@pytest.mark.parametrize("callbacks, message", [
    ([lambda epoch, logs: None], "callbacks[0] is a function, not a keras.callbacks.Callback"),
    ([keras.callbacks.History(), "print"], "callbacks[1] is a str")])
def test_a_callback_that_is_not_one_fails_before_anything_is_written(tmp_path, callbacks,
                                                                     message):
    from pipelines import sentiment

    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        sentiment.train(tiny_sentiment_config(), DATA / "sentiment" / "train.tsv",
                        DATA / "sentiment" / "valid.tsv", tmp_path / "model", callbacks=callbacks)
    assert not (tmp_path / "model").exists()


def test_bad_in_memory_data_fails_before_anything_is_written(tmp_path):
    from pipelines import sentiment

    with pytest.raises(DataError, match="item 1 is a tuple of 3"):
        sentiment.train(tiny_sentiment_config(), [("good", "pos"), ("bad", "neg", "x")],
                        DATA / "sentiment" / "valid.tsv", tmp_path / "model")
    assert not (tmp_path / "model").exists()
    with pytest.raises(DataError, match="only one label"):  # the task's own checks apply
        sentiment.train(tiny_sentiment_config(), [("good", "pos"), ("fine", "pos")],
                        [("bad", "neg")], tmp_path / "model")
    assert not (tmp_path / "model" / ".resume").exists()  # no run left to resume


def test_which_arguments_are_paths_is_the_tasks_call():
    import pipelines

    translate, autoencoder = pipelines.task("translate"), pipelines.task("autoencoder")
    assert translate.is_data_path(["train.de", "train.en"])  # two aligned files
    assert not translate.is_data_path([("ein Haus", "a house")])
    assert not autoencoder.is_data_path(["a sentence", "another"])
    assert pipelines.task("lm").is_data_path(DATA / "lm" / "train.txt")
    with pytest.raises(ConfigError, match="caption trains from files only"):
        pipelines.task("caption").write_examples(None, [("a.png", "a cat")], None, "train")
