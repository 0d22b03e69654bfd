"""A seed ensemble in one export: members trained on their own, the export answers their mean."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from helpers import DATA, task_data, tiny_sentiment_config
from pipelines import sentiment
from seqtasks import config as config_lib
from seqtasks.errors import ConfigError
from seqtasks.models import ensemble
from seqtasks.text import Vocabulary
from seqtasks.text.encoder import TextEncoder
from seqtasks.training import lifecycle

TRAIN, VALID = DATA / "sentiment" / "train.tsv", DATA / "sentiment" / "valid.tsv"
VECTORS = DATA / "vectors" / "enwiki-20k-50d.txt.gz"
TEXTS = ["a gorgeous , witty film", "", "dull and lifeless", "unseen words zzxq qqzx"]


def test_member_loss_is_the_mean_of_each_members_loss():
    rng = np.random.default_rng(0)
    probabilities = rng.dirichlet(np.ones(3), size=(5, 4)).astype("float32")  # [5, 4 members, 3]
    targets = np.array([0, 2, 1, 1, 0])
    per_member = [keras.losses.sparse_categorical_crossentropy(targets, probabilities[:, m])
                  for m in range(4)]
    np.testing.assert_allclose(ensemble.MemberCrossentropy()(targets, probabilities),
                               np.mean(per_member), rtol=1e-5)
    # Accuracy is of the averaged probabilities, not the members' mean accuracy.
    expected = np.mean(probabilities.mean(axis=1).argmax(-1) == targets)
    np.testing.assert_allclose(np.mean(ensemble.averaged_accuracy(targets, probabilities)),
                               expected)
    assert ensemble.average(probabilities[:, 0]).shape == (5, 3)  # one model: unchanged


def test_export_answers_the_mean_of_its_members(tmp_path):
    """Loaded in this process (tests/pipelines/test_sentiment.py reloads the same serving code
    in a fresh one)."""
    config = tiny_sentiment_config(ensemble=3)
    vocabulary = Vocabulary.build([t.split() for t in TEXTS])
    encoder = TextEncoder(vocabulary, config.level, config.lowercase, config.max_length)
    model = sentiment.build(config, len(vocabulary), 2)
    ids = encoder.dense(tf.constant(TEXTS))
    members = [keras.Model(model.input, model.get_layer(f"member{i}_classifier").output)(ids)
               for i in range(3)]
    assert not np.allclose(members[0], members[1])  # each member its own initial weights
    data = sentiment.SentimentData(None, None, ["neg", "pos"], encoder)
    export_dir = lifecycle.export(sentiment.TASK, config, model, data, tmp_path / "m", {}, {},
                                  tmp_path)
    served = tf.saved_model.load(str(export_dir)).signatures["serving_default"](
        text=tf.constant(TEXTS))
    np.testing.assert_allclose(served["probabilities"], np.mean(members, axis=0), atol=1e-6)


def test_every_member_starts_from_the_vectors(tmp_path):
    config = tiny_sentiment_config(ensemble=2, embeddings=str(VECTORS), embedding_dim=50)
    data = task_data(sentiment.TASK, config, TRAIN, VALID, tmp_path)
    built = sentiment.TASK.build(config, data)
    rows = [keras.ops.convert_to_numpy(built.model.get_layer(f"member{i}_embedding").embeddings)
            for i in range(2)]
    covered = data.encoder.vocabulary.tokens.index("the")  # in the bundled vectors
    np.testing.assert_array_equal(rows[0][covered], rows[1][covered])
    np.testing.assert_array_equal(rows[0], rows[1])  # the same initial table for every member
    kernels = [keras.ops.convert_to_numpy(built.model.get_layer(f"member{i}_classifier").kernel)
               for i in range(2)]
    assert not np.allclose(kernels[0], kernels[1])  # the rest: each member its own draw
    assert {p.split("/")[0] for p in built.pretrained} == {"member0_embedding",
                                                           "member1_embedding"}


@pytest.mark.slow  # a training run, 14 s
def test_trained_ensemble_reports_the_accuracy_it_serves(tmp_path):
    config = tiny_sentiment_config(ensemble=2, epochs=1)
    export_dir = sentiment.train(config, TRAIN, VALID, tmp_path / "out")
    meta = json.loads((export_dir / "seqtasks.json").read_text())
    assert meta["config"]["ensemble"] == 2
    assert meta["metrics"]["accuracy"] == sentiment.evaluate(export_dir, VALID)["accuracy"]


def test_refusals():
    with pytest.raises(ConfigError, match="ensemble"):
        config_lib.replace(tiny_sentiment_config(), ensemble=17)
    with pytest.raises(ConfigError, match="init_from"):
        sentiment.TASK.check(tiny_sentiment_config(ensemble=2, init_from="lm-export"))
    one, _ = config_lib.training_bytes(tiny_sentiment_config())
    five, keys = config_lib.training_bytes(tiny_sentiment_config(ensemble=5))
    assert five == 5 * one and keys["ensemble"] == 5
