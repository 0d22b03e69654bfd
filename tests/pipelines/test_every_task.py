"""Every registered task (``pipelines.TASKS``) through the same tiny run, in the spirit of
KerasHub's ``run_task_test``: fit -> export -> reload in a fresh process and predict a table
(``seqtasks predict``, as users do) -> evaluate the export. A new task gets this coverage by
registering and adding its tiny run to ``TINY_RUNS``; a task without one fails here."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from helpers import (DATA, run_cli, tiny_ner_config, tiny_sentiment_config,
                     tiny_translation_config)
from pipelines import TASKS, task


def sentences_file(tmp_path):
    """The translation sample's targets, one sentence a line (the autoencoder's data)."""
    from seqtasks.data.parallel import read_parallel

    path = tmp_path / "sentences.txt"
    path.write_text("".join(f"{t}\n" for t in read_parallel(DATA / "translation" / "valid.tsv")
                            .targets), encoding="utf-8")
    return path


def lm_config():
    from pipelines.language_model import LanguageModelConfig

    return LanguageModelConfig(level="char", embedding_dim=12, units=16, num_layers=1, epochs=1,
                               batch_size=8, bptt_steps=16, bptt_stride=12, dropout=0.1,
                               max_length=20, seed=3)


def caption_config():
    from pipelines.caption import CaptionConfig

    return CaptionConfig(filters="8,16", units=16, embedding_dim=8, attention_units=8, epochs=1,
                         batch_size=8, beam_size=1, seed=3)


DIGITS = DATA / "captions" / "digits"
# task -> (tiny config, train, valid, inputs to predict): paths may be functions of tmp_path
TINY_RUNS = {
    "sentiment": (lambda: tiny_sentiment_config(epochs=1), DATA / "sentiment" / "train.tsv",
                  DATA / "sentiment" / "valid.tsv", ["a gorgeous , witty film", ""]),
    "ner": (lambda: tiny_ner_config(epochs=1), DATA / "ner" / "train.txt",
            DATA / "ner" / "valid.txt", ["John lives in London .", ""]),
    "lm": (lm_config, DATA / "lm" / "shakespeare_train.txt", DATA / "lm" / "shakespeare_valid.txt",
           ["ROMEO:", ""]),
    "translate": (tiny_translation_config, DATA / "translation" / "train.tsv",
                  DATA / "translation" / "valid.tsv", ["Der Mann liest ein Buch.", ""]),
    "autoencoder": (lambda: tiny_translation_config(task("autoencoder").config_class),
                    sentences_file, sentences_file, ["The man reads a book.", ""]),
    "caption": (caption_config, DIGITS / "train.tsv", DIGITS / "valid.tsv",
                [str(DIGITS / "images" / "train_00000.png"),
                 str(DIGITS / "images" / "train_00001.png")]),
}


def test_every_registered_task_has_a_tiny_run():
    assert sorted(TINY_RUNS) == sorted(TASKS)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(TASKS))
def test_fit_export_reload_predict_evaluate(name, tmp_path):
    import seqtasks

    chosen = task(name)
    make_config, train, valid, inputs = TINY_RUNS[name]
    train, valid = (path(tmp_path) if callable(path) else path for path in (train, valid))
    export_dir = seqtasks.train(chosen, make_config(), train, valid, tmp_path / "model",
                                verbose=0)
    metadata = json.loads((export_dir / "seqtasks.json").read_text(encoding="utf-8"))
    score, mode = chosen.main_score
    assert metadata["task"] == name and metadata["kind"] == chosen.kind
    assert metadata["main_score"] == {"name": score, "mode": mode}
    assert not (tmp_path / "model" / ".resume").exists()
    # one warmup record per signature of the SavedModel, none left out (seqtasks.export.warmup)
    exported = set(metadata["signatures"]) | {"serving_default"}
    assert metadata["warmup"]["skipped"] == {}
    assert set(metadata["warmup"]["signatures"]) == exported

    # a fresh process, as a user would: the export alone is enough to predict a table
    predictor_column = "image" if chosen.kind == "captioner" else "text"
    pd.DataFrame({"id": range(len(inputs)), predictor_column: inputs}).to_csv(
        tmp_path / "in.csv", index=False)
    run_cli("predict", export_dir, "--input", tmp_path / "in.csv", "--output",
            tmp_path / "out.jsonl", "--quiet")
    rows = pd.read_json(tmp_path / "out.jsonl", lines=True)
    assert len(rows) == len(inputs) and list(rows["id"]) == list(range(len(inputs)))
    assert len(rows.columns) > 2  # the task's prediction columns beside the input's

    # the export scores the validation data as training measured it through its signatures
    metrics = chosen.evaluate(export_dir, valid)
    assert metrics[score] == pytest.approx(metadata["metrics"][score], rel=1e-3, abs=1e-6)
