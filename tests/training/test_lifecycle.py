"""The one training lifecycle: a new task is one small class, and the lifecycle gives it resume,
export, figures and a training summary; a failed start leaves nothing behind."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

import seqtasks
from helpers import DATA, tiny_sentiment_config, write
from pipelines import sentiment
from seqtasks.config import RecurrentConfig, TrainConfig
from seqtasks.data.batching import sequence_dataset
from seqtasks.errors import DataError, TrainingError
from seqtasks.layers.pooling import MaskedMaxPooling
from seqtasks.layers.recurrent import recurrent_stack
from seqtasks.text import Vocabulary
from seqtasks.text.encoder import TextEncoder
from seqtasks.training import fit_task
from seqtasks.training.fit_task import UNKNOWN_WARNING, batches_per_epoch

TRAIN, VALID = DATA / "sentiment" / "train.tsv", DATA / "sentiment" / "valid.tsv"


def has_the(text: str) -> bool:
    return "the" in text.lower().split()  # true for half of the sample's sentences


class HasThe(seqtasks.Task):
    """A task written only against the contract: does a sentence contain the word "the"?"""
    name = "has_the"
    config_class = TrainConfig

    def read(self, config, train_path, valid_path):
        def lines(path):
            return [line.split("\t", 1)[1] for line in path.read_text().splitlines()[1:]]

        return seqtasks.Splits(lines(train_path), lines(valid_path))

    def prepare(self, config, splits, run):
        return {"vocab": Vocabulary.build([text.split() for text in splits.train])}

    def data(self, config, splits, prepared, run):
        return splits, TextEncoder(prepared["vocab"], "word", True, 40)

    def datasets(self, config, data):
        (splits, encoder) = data

        def make(texts, shuffle):
            labels = np.array([has_the(t) for t in texts], "int32")
            return sequence_dataset(texts, labels, encoder, 32, 40, shuffle, config.seed)

        return make(splits.train, True), make(splits.valid, False)

    def training_units(self, config, data):
        return sum(min(len(t.split()), 40) for t in data[0].train)

    def build(self, config, data):
        ids = keras.Input((None,), dtype="int32")
        x = keras.layers.Embedding(len(data[1].vocabulary), 8, mask_zero=True)(ids)
        x = recurrent_stack(x, RecurrentConfig(cell="gru", units=16, bidirectional=False),
                            return_sequences=True)
        x = MaskedMaxPooling()(x)
        return seqtasks.Built(keras.Model(ids, keras.layers.Dense(2, activation="softmax")(x)))

    def compile_options(self, config, model):
        return {"loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"]}

    def signatures(self, config, model, data):
        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
        def classify(text):
            return {"has_the": tf.argmax(model(data[1].dense(text)), axis=-1) == 1}

        return {"serving_default": classify}

    def validation_metrics(self, config, data, signatures):
        texts = data[0].valid
        found = signatures["serving_default"](tf.constant(texts))["has_the"].numpy()
        return {"accuracy": float(np.mean(found == [has_the(t) for t in texts]))}

    def export_assets(self, config, model, data, work_dir):
        return seqtasks.ExportAssets(data[1].resources, {}, {})


def test_a_new_task_is_one_class_and_the_lifecycle_does_the_rest(tmp_path):
    config = TrainConfig(epochs=8, learning_rate=0.01, early_stopping_patience=8, seed=1)
    export_dir = seqtasks.train(HasThe(), config, TRAIN, VALID, tmp_path / "m", verbose=0)
    metadata = json.loads((export_dir / "seqtasks.json").read_text())
    assert metadata["task"] == "has_the" and metadata["metrics"]["accuracy"] >= 0.75
    training = metadata["training"]
    assert training["epochs_run"] == 8 and training["train_tokens_per_second"] > 0
    assert (export_dir / "learning_curves.png").exists()
    assert not (tmp_path / "m" / ".resume").exists()
    served = tf.saved_model.load(str(export_dir)).signatures["serving_default"](
        text=tf.constant(["a gorgeous , witty film", "the plot is thin"]))
    assert served["has_the"].numpy().tolist() == [False, True]


def test_a_failed_start_leaves_nothing_that_blocks_the_corrected_rerun(tmp_path):
    bad_valid = write(tmp_path / "valid.tsv", "label\ttext\nneutral\ta film\n")
    out = tmp_path / "model"
    with pytest.raises(DataError, match="never seen in training"):
        sentiment.train(tiny_sentiment_config(), TRAIN, bad_valid, out, verbose=0)
    assert not (out / ".resume").exists()
    # corrected data and another config: a fresh run, not "an unfinished run with another config"
    export_dir = sentiment.train(tiny_sentiment_config(units=8, epochs=1), TRAIN, VALID, out,
                                 verbose=0)
    assert export_dir == out / "1"


def test_a_run_that_fails_before_its_first_epoch_ends_leaves_nothing_to_resume(tmp_path,
                                                                              monkeypatch):
    def nan_in_the_first_epoch(*args, **kwargs):
        raise TrainingError("loss became nan at epoch 1, batch 3")

    monkeypatch.setattr(fit_task, "fit", nan_in_the_first_epoch)
    out = tmp_path / "model"
    with pytest.raises(TrainingError):
        sentiment.train(tiny_sentiment_config(learning_rate=100.0), TRAIN, VALID, out,
                        verbose=0)
    assert not (out / ".resume").exists()  # the rerun with a lower rate is not "a changed run"


def test_batches_per_epoch_counts_when_tf_data_cannot_tell():
    known = tf.data.Dataset.range(10).batch(3)
    unknown = tf.data.Dataset.range(10).filter(lambda x: x % 2 == 0).batch(2)
    assert batches_per_epoch(known) == 4 and batches_per_epoch(unknown) == 3


@pytest.mark.slow  # a 7 s training run for one warning line
def test_a_validation_set_the_vocabulary_does_not_cover_is_warned_about(tmp_path, capsys):
    unseen = write(tmp_path / "valid.tsv", "label\ttext\npos\tzqx vlorp\nneg\tgrumf blatch\n")
    export_dir = sentiment.train(tiny_sentiment_config(epochs=1), TRAIN, unseen, tmp_path / "m",
                                 verbose=0)
    training = json.loads((export_dir / "seqtasks.json").read_text())["training"]
    assert training["valid_unknown_share"] == 1.0
    assert "warning: 100.0% of the validation tokens are [UNK]" in capsys.readouterr().err


def test_the_bundled_sample_is_not_warned_about(sentiment_export):
    training = json.loads((sentiment_export[0] / "seqtasks.json").read_text())["training"]
    assert 0 < training["valid_unknown_share"] < UNKNOWN_WARNING
