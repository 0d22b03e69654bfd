"""``refit=true``: after early stopping on valid, a fresh model trains on train + valid for the
epochs found best and is exported; the validation scores reported are the first pass's; an
interruption during the refit resumes the refit, not the first pass."""

import json

import keras
import pytest

from helpers import DATA, tiny_ner_config, tiny_sentiment_config
from pipelines import ner, sentiment
from seqtasks.data.conll import read_conll
from seqtasks.data.labelled import read_labelled
from seqtasks.errors import ConfigError
from seqtasks.training import refit as refit_lib

TRAIN, VALID = DATA / "sentiment" / "train.tsv", DATA / "sentiment" / "valid.tsv"


class InterruptTheRefit(keras.callbacks.Callback):
    """Ctrl-C at the end of the refit's first epoch (the second ``fit`` of the run)."""

    def __init__(self):
        super().__init__()
        self.fits = 0

    def on_train_begin(self, logs=None):
        self.fits += 1

    def on_epoch_end(self, epoch, logs=None):
        if self.fits == 2:
            raise KeyboardInterrupt


class CountEpochs(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.epochs = 0

    def on_epoch_end(self, epoch, logs=None):
        self.epochs += 1


@pytest.mark.slow  # three tiny training runs, about 15 s
def test_the_export_is_refit_on_train_and_valid_for_the_best_epochs(tmp_path, capsys):
    config = tiny_sentiment_config(epochs=4, early_stopping_patience=1, refit=True)
    out = tmp_path / "model"
    with pytest.raises(KeyboardInterrupt):
        sentiment.train(config, TRAIN, VALID, out, callbacks=[InterruptTheRefit()], verbose=0)
    first = json.loads((out / ".resume" / "first_pass.json").read_text())
    best = first["summary"]["best_epoch"] or first["summary"]["epochs_run"]

    counted = CountEpochs()
    export_dir = sentiment.train(config, TRAIN, VALID, out, callbacks=[counted], verbose=1)
    assert "resuming the refit on train + valid" in capsys.readouterr().err
    assert counted.epochs == best - 1  # the refit's first epoch was done; the first pass was
    metadata = json.loads((export_dir / "seqtasks.json").read_text())
    assert metadata["training"]["refit"]["epochs"] == best
    assert metadata["training"]["refit"]["examples"] == \
        len(read_labelled(TRAIN)) + len(read_labelled(VALID))
    assert metadata["data"]["refit"] == "train + valid"
    assert metadata["metrics"]["accuracy"] == first["metrics"]["accuracy"]
    card = (export_dir / "MODEL_CARD.md").read_text()
    assert f"before this model was refit on train + valid for {best} epochs" in card
    assert not (out / ".resume").exists()


def test_a_task_that_cannot_merge_its_splits_refuses_refit(tmp_path):
    from pipelines import language_model

    config = language_model.LanguageModelConfig(refit=True)
    with pytest.raises(ConfigError, match="refit=true: the lm task cannot"):
        refit_lib.check(language_model.LanguageModel(), config)
    with pytest.raises(ConfigError, match="tensorflow backend only"):
        refit_lib.check(sentiment.Sentiment(), tiny_sentiment_config(refit=True,
                                                                     train_backend="torch"))


def test_merged_splits_hold_every_training_then_validation_example():
    task = ner.Ner()
    config = tiny_ner_config()
    splits = task.read(config, DATA / "ner" / "train.txt", DATA / "ner" / "valid.txt")
    merged = task.merged_splits(splits)
    assert merged.train.tokens == splits.train.tokens + splits.valid.tokens
    assert merged.train.tags == splits.train.tags + splits.valid.tags
    assert merged.valid is splits.valid
    assert min(merged.train.documents[len(splits.train):]) > max(splits.train.documents)
    other = read_conll(DATA / "ner" / "valid.txt", file_scheme="auto", scheme="iob2")
    with pytest.raises(ValueError, match="cannot join"):
        splits.train.joined(other)
