"""init_from (ULMFiT-style): task encoders take a language model's weights, exactly; mismatches
are clear errors; the pretrained weights learn at their own rate and can wait (freeze_epochs)."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from helpers import (DATA, task_data, tiny_ner_config, tiny_sentiment_config,
                     tiny_translation_config)
from seqtasks import config as config_lib
from seqtasks.errors import ConfigError
from seqtasks.training.callbacks import FreezePretrained
from seqtasks.training.optimizers import make_optimizer
from seqtasks.transfer.warm_start import read_language_model

SENTIMENT = (DATA / "sentiment" / "train.tsv", DATA / "sentiment" / "valid.tsv")
CORPUS = (DATA / "lm" / "shakespeare_train.txt", DATA / "lm" / "shakespeare_valid.txt")


def lm_config(**overrides):
    from pipelines import language_model as lm

    base = lm.LanguageModelConfig(level="word", word_split="punctuation", lowercase=True,
                                  cell="lstm", embedding_dim=16, units=16, num_layers=1,
                                  epochs=1, batch_size=4, bptt_steps=12, dropout=0.1, seed=3)
    return config_lib.replace(base, **overrides)


@pytest.fixture(scope="module")
def language_models(tmp_path_factory):
    """A forward and a backward word LM trained on the bundled Shakespeare sample."""
    from pipelines import language_model as lm

    root = tmp_path_factory.mktemp("lms")
    return {direction: lm.train(lm_config(direction=direction), *CORPUS, root / direction,
                                verbose=0) for direction in ("forward", "backward")}


def lm_weights(export_dir) -> dict[str, np.ndarray]:
    return read_language_model(export_dir).weights


def test_a_backward_lm_reads_lines_right_to_left_and_writes_what_comes_before(language_models):
    metadata = json.loads((language_models["backward"] / "seqtasks.json").read_text())
    assert metadata["config"]["direction"] == "backward"
    generate = tf.saved_model.load(str(language_models["backward"])).signatures["generate"]
    out = generate(prompt=tf.constant(["the king ."]), max_length=tf.constant(6),
                   temperature=tf.constant(1.0), top_k=tf.constant(0), top_p=tf.constant(1.0),
                   num_samples=tf.constant(1), seed=tf.constant(1), allow_unk=tf.constant(False))
    text = out["text"].numpy()[0].decode()
    continuation = out["continuation"].numpy()[0].decode()
    assert text.endswith("the king .") and text.startswith(continuation)


def test_a_unidirectional_encoder_takes_the_lm_weights_exactly(language_models, tmp_path):
    from pipelines import sentiment

    config = tiny_sentiment_config(init_from=str(language_models["forward"]),
                                   bidirectional=False)
    data = task_data(sentiment.TASK, config, *SENTIMENT, tmp_path)
    lm = read_language_model(language_models["forward"])
    vocabulary = data.encoder.vocabulary
    assert vocabulary.tokens[:len(lm.vocabulary)] == lm.vocabulary.tokens
    assert len(vocabulary) > len(lm.vocabulary)  # the task's new words are appended
    model, pretrained = sentiment.TASK.build(config, data)
    embedding = model.get_layer("embedding").embeddings.numpy()
    np.testing.assert_array_equal(embedding[:len(lm.vocabulary)],
                                  lm.weights["embedding/embeddings"])
    layer = model.get_layer("encoder_lstm_0")
    for variable in layer.weights:
        name = variable.path.split("encoder_lstm_0/")[1]
        np.testing.assert_array_equal(variable.numpy(), lm.weights[f"decoder_lstm_0/{name}"])
    assert len(pretrained) == 1 + len(layer.weights)


def test_a_bidirectional_encoder_takes_a_forward_and_a_backward_lm(language_models, tmp_path):
    from pipelines import sentiment

    spec = f"{language_models['forward']},{language_models['backward']}"
    config = tiny_sentiment_config(init_from=spec)
    data = task_data(sentiment.TASK, config, *SENTIMENT, tmp_path)
    model = sentiment.TASK.build(config, data).model
    wrapper = model.get_layer("encoder_bi_0")
    for half, direction in ((wrapper.forward_layer, "forward"),
                            (wrapper.backward_layer, "backward")):
        weights = lm_weights(language_models[direction])
        kernel = [v for v in half.weights if v.path.endswith("/kernel")][0]
        np.testing.assert_array_equal(kernel.numpy(), weights["decoder_lstm_0/lstm_cell/kernel"])


def test_ner_copies_the_word_rows_of_its_first_kernel(language_models, tmp_path):
    from pipelines import ner

    config = tiny_ner_config(init_from=str(language_models["forward"]), bidirectional=False)
    data = task_data(ner.TASK, config, DATA / "ner" / "train.txt", DATA / "ner" / "valid.txt",
                     tmp_path)
    model = ner.TASK.build(config, data).model
    kernel = model.get_layer("encoder_lstm_0").cell.kernel.numpy()
    lm_kernel = lm_weights(language_models["forward"])["decoder_lstm_0/lstm_cell/kernel"]
    assert kernel.shape[0] > lm_kernel.shape[0]  # word + char + casing features
    np.testing.assert_array_equal(kernel[:16], lm_kernel)


@pytest.mark.slow  # 5 s; the sentiment encoder takes the same LMs in the default run
def test_the_translation_encoder_takes_the_lms(language_models, tmp_path):
    from pipelines import translation

    spec = f"{language_models['forward']},{language_models['backward']}"
    config = tiny_translation_config(level="word", cell="lstm", init_from=spec, lowercase=True)
    data = task_data(translation.TASK, config, DATA / "translation" / "train.tsv",
                     DATA / "translation" / "valid.tsv", tmp_path)
    lm = read_language_model(language_models["forward"])
    assert data.source.vocabulary.tokens[:len(lm.vocabulary)] == lm.vocabulary.tokens
    model = translation.TASK.build(config, data).model
    np.testing.assert_array_equal(
        model.trainer.get_layer("source_embedding").embeddings.numpy()[:len(lm.vocabulary)],
        lm.weights["embedding/embeddings"])
    backward = model.trainer.get_layer("encoder_bi_0").backward_layer
    kernel = [v for v in backward.weights if v.path.endswith("/kernel")][0]
    np.testing.assert_array_equal(kernel.numpy(), lm_weights(language_models["backward"])[
        "decoder_lstm_0/lstm_cell/kernel"])
    with pytest.raises(ConfigError, match="set level=word"):
        translation.TASK.check(tiny_translation_config(init_from=spec))


@pytest.mark.parametrize("overrides, message", [
    ({"units": 32, "bidirectional": False}, "the LM has units=16, this encoder units=32; set units=16"),
    ({"bidirectional": True}, "needs a forward and a backward LM"),
    ({"num_layers": 2, "bidirectional": False}, "set num_layers<=1"),
    ({"bidirectional": False, "lowercase": False}, "train the LM with --set "
                                                   "word_split=punctuation lowercase=false"),
])
def test_mismatches_name_the_option_to_change(language_models, tmp_path, overrides, message):
    from pipelines import sentiment

    config = tiny_sentiment_config(init_from=str(language_models["forward"]), **overrides)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        data = task_data(sentiment.TASK, config, *SENTIMENT, tmp_path)
        sentiment.TASK.build(config, data).model


def test_backwards_in_the_wrong_place_and_other_tasks_are_refused(language_models, tmp_path):
    from pipelines import sentiment

    swapped = f"{language_models['backward']},{language_models['forward']}"
    with pytest.raises(ConfigError, match="expected a forward LM in that place"):
        task_data(sentiment.TASK, tiny_sentiment_config(init_from=swapped), *SENTIMENT, tmp_path)


def test_pretrained_variables_learn_at_their_scale_and_can_wait():
    pretrained = keras.Variable(np.zeros(3, np.float32), name="pretrained")
    fresh = keras.Variable(np.zeros(3, np.float32), name="fresh")
    optimizer = make_optimizer("sgd", 0.1, None, (pretrained.path,), pretrained_lr_scale=0.25)
    gradient = tf.ones(3)
    optimizer.apply([gradient, gradient], [pretrained, fresh])
    np.testing.assert_allclose(fresh.numpy(), -0.1)
    np.testing.assert_allclose(pretrained.numpy(), -0.025)
    # freeze_epochs: the factor is 0 during the first epochs, the scale afterwards
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, name="head")])
    freeze = FreezePretrained(epochs=1, scale=0.25)
    model.compile(optimizer=make_optimizer("sgd", 0.1, None, (model.layers[0].kernel.path,),
                                           0.25), loss="mse")
    freeze.set_model(model)
    freeze.on_epoch_begin(0)
    assert float(model.optimizer.pretrained_rate.numpy()) == 0.0
    freeze.on_epoch_begin(1)
    assert float(model.optimizer.pretrained_rate.numpy()) == 0.25


@pytest.mark.parametrize("freeze_epochs", [1, pytest.param(0, marks=pytest.mark.slow)])
def test_freeze_epochs_keeps_the_lm_weights_for_the_first_epoch(language_models, tmp_path,
                                                                freeze_epochs):
    from pipelines import sentiment

    config = tiny_sentiment_config(init_from=str(language_models["forward"]),
                                   bidirectional=False, freeze_epochs=freeze_epochs, epochs=1)
    export_dir = sentiment.train(config, *SENTIMENT, tmp_path / "model", verbose=0)
    kept = np.array_equal(read_exported(export_dir)["encoder_lstm_0/lstm_cell/kernel"],
                          lm_weights(language_models["forward"])["decoder_lstm_0/lstm_cell/kernel"])
    assert kept == (freeze_epochs == 1)
    metadata = json.loads((export_dir / "seqtasks.json").read_text())
    assert metadata["training"]["init_from"] == str(language_models["forward"])


def read_exported(export_dir) -> dict[str, np.ndarray]:
    return {v.name.split(":")[0]: v.numpy()
            for v in tf.saved_model.load(str(export_dir)).variables}
