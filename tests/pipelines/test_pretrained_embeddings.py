"""Pretrained word vectors in every word-level pipeline: vocabulary, matrix, freezing, export."""

from __future__ import annotations

import json

import numpy as np
import pytest

from helpers import (DATA, run_cli, serve_in_fresh_process, task_data, tiny_ner_config,
                     tiny_sentiment_config, tiny_translation_config)
from seqtasks.errors import ConfigError
from seqtasks.text.pretrained import read_vectors
from seqtasks.transfer.pretrain_vectors import VectorsRecipe, pretrain_vectors

SENTIMENT = (DATA / "sentiment" / "train.tsv", DATA / "sentiment" / "valid.tsv")
TEXTS = ["a gorgeous , witty , seductive movie .", "the plot is nothing but boilerplate ."]


@pytest.fixture(scope="module")
def vectors(tmp_path_factory):
    """16-dimensional (the tiny configs' size) skip-gram vectors trained here on the bundled samples (a tiny, real
    ``seqtasks pretrain vectors`` run)."""
    out = tmp_path_factory.mktemp("vectors") / "tiny.vec"
    facts = pretrain_vectors([DATA / "sentiment" / "train.tsv", DATA / "lm" /
                              "shakespeare_train.txt"], out,
                             VectorsRecipe(dim=16, epochs=2, min_count=1, workers=1),
                             verbose=False)
    assert facts["vectors"] > 1000 and facts["corpus_words"] > 10000
    return out


def test_pretrained_words_are_normalised_like_the_pipelines(vectors):
    words = read_vectors(vectors).words
    assert "the" in words and "The" not in words  # case-folded
    assert not any(ch.isdigit() and ch != "0" for word in words for ch in word)  # digits -> 0


def test_sentiment_vocabulary_and_matrix_come_from_the_vectors(vectors, tmp_path):
    from pipelines import sentiment

    config = tiny_sentiment_config(embeddings=str(vectors), min_count=2, max_vocab_size=1500)
    from seqtasks.text.pretrained import with_vectors_dimension

    config = with_vectors_dimension(config)
    assert config.embedding_dim == 16
    data = task_data(sentiment.TASK, config, *SENTIMENT, tmp_path)
    vocabulary = data.encoder.vocabulary
    assert len(vocabulary) == 1500  # training words, then pretrained ones up to the cap
    pretrained = read_vectors(vectors)
    model = sentiment.TASK.build(config, data).model
    matrix = model.get_layer("embedding").embeddings.numpy()
    for word in ("movie", "the", "witty"):
        np.testing.assert_allclose(matrix[vocabulary.index[word]],
                                   pretrained.matrix[pretrained.words.index(word)], atol=1e-6)
    report = sentiment.TASK.data_summary(config, data)["embeddings"]
    assert report["file"] == "tiny.vec" and len(report["sha256"]) == 64
    assert 0.5 < report["train_token_coverage"] <= 1 and report["dim"] == 16


@pytest.mark.parametrize("trainable", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_frozen_vectors_stay_as_they_are_after_a_step(vectors, tmp_path, trainable):
    from pipelines import sentiment
    from seqtasks.text.pretrained import with_vectors_dimension
    from seqtasks.training.fit_task import compile_model

    config = with_vectors_dimension(tiny_sentiment_config(
        embeddings=str(vectors), embeddings_trainable=trainable, learning_rate=0.05))
    data = task_data(sentiment.TASK, config, *SENTIMENT, tmp_path)
    model = sentiment.TASK.build(config, data).model
    before = model.get_layer("embedding").embeddings.numpy().copy()
    compile_model(sentiment.TASK, config, model, steps_per_epoch=1)
    train, _ = sentiment.TASK.datasets(config, data)
    for x, y in train.take(2):
        model.train_on_batch(x, y)
    after = model.get_layer("embedding").embeddings.numpy()
    assert np.array_equal(before, after) != trainable


@pytest.mark.slow  # 15 s; tests/models/test_ensemble.py builds from vectors in process
def test_export_with_vectors_reloads_in_a_fresh_process(vectors, tmp_path):
    from pipelines import sentiment

    import seqtasks

    config = tiny_sentiment_config(embeddings=str(vectors), epochs=1)
    export_dir = sentiment.train(config, *SENTIMENT, tmp_path / "model", verbose=0)
    vectors.rename(vectors.with_suffix(".moved"))  # serving needs no vectors file
    try:
        served = serve_in_fresh_process(export_dir, TEXTS)
        in_memory = seqtasks.load(export_dir).predict(TEXTS)
    finally:
        vectors.with_suffix(".moved").rename(vectors)
    expected = [row["probabilities"] for row in in_memory]
    np.testing.assert_allclose(served["probabilities"], expected, atol=1e-5)
    metadata = json.loads((export_dir / "seqtasks.json").read_text())
    assert metadata["config"]["embedding_dim"] == 16
    assert metadata["training"]["embeddings"]["file"] == "tiny.vec"


def test_ner_vocabulary_gains_pretrained_words(vectors, tmp_path):
    from pipelines import ner

    train, valid = DATA / "ner" / "train.txt", DATA / "ner" / "valid.txt"
    from seqtasks.text.pretrained import with_vectors_dimension

    plain = task_data(ner.TASK, tiny_ner_config(), train, valid, tmp_path / "plain")
    config = with_vectors_dimension(tiny_ner_config(embeddings=str(vectors)))
    data = task_data(ner.TASK, config, train, valid, tmp_path / "vectors")
    words = data.features.words
    assert words.tokens[:len(plain.features.words)] == plain.features.words.tokens
    assert len(words) > len(plain.features.words) + 1000
    model = ner.TASK.build(config, data).model
    assert model.get_layer("word_embedding").embeddings.shape == (len(words), 16)


def test_translation_vectors_extend_the_source_side_only(vectors, tmp_path):
    from pipelines import translation
    from seqtasks.text.pretrained import with_vectors_dimension

    pairs = (DATA / "translation" / "train.tsv", DATA / "translation" / "valid.tsv")
    with pytest.raises(ConfigError, match="set level=word"):
        translation.TASK.check(tiny_translation_config(source_embeddings=str(vectors)))
    config = with_vectors_dimension(tiny_translation_config(
        level="word", source_embeddings=str(vectors), target_embeddings=str(vectors),
        max_vocab_size=2000))
    plain = task_data(translation.TASK, tiny_translation_config(level="word",
                                                                max_vocab_size=2000),
                      *pairs, tmp_path / "plain")
    data = task_data(translation.TASK, config, *pairs, tmp_path / "vectors")
    assert len(data.source.vocabulary) == 2000 > len(plain.source.vocabulary)
    assert data.target.vocabulary.tokens == plain.target.vocabulary.tokens
    model = translation.TASK.build(config, data).model
    pretrained = read_vectors(vectors)
    row = data.target.vocabulary.index["the"]
    np.testing.assert_allclose(model.decoder.embedding.embeddings.numpy()[row],
                               pretrained.matrix[pretrained.words.index("the")], atol=1e-6)


def test_language_model_vectors_need_words(vectors):
    from pipelines import language_model as lm

    with pytest.raises(ConfigError, match="set level=word"):
        lm.TASK.check(lm.LanguageModelConfig(level="char", embeddings=str(vectors)))


def test_cli_pretrain_vectors_and_its_errors(tmp_path, capsys):
    from pipelines.cli.main import main

    out = tmp_path / "v.txt"
    result = run_cli("pretrain", "vectors", "--corpus", DATA / "lm" / "shakespeare_train.txt",
                     "--out", out, "--dim", "4", "--epochs", "1", "--min-count", "1", "--quiet")
    facts = json.loads(result.stdout.strip().splitlines()[-1])
    assert facts["dim"] == 4 and out.read_text().split("\n")[0] == f"{facts['vectors']} 4"
    assert [p.name for p in tmp_path.iterdir()] == ["v.txt"]  # no work files left
    # The refusal through the CLI's main in process (a real process costs a TensorFlow import).
    assert main(["pretrain", "vectors", "--corpus", str(tmp_path / "nope.txt"), "--out",
                 str(tmp_path / "w.txt")]) != 0
    err = capsys.readouterr().err
    assert "nope.txt: no such corpus file" in err
    assert "Traceback" not in err and not (tmp_path / "w.txt").exists()


def test_training_with_a_bad_vectors_file_fails_before_writing(tmp_path, capsys):
    from pipelines.cli.main import main  # in process: a real process costs a TensorFlow import

    bad = tmp_path / "bad.txt"
    bad.write_text("the 0.1 0.2\nfilm 0.3\n", encoding="utf-8")
    assert main(["train", "sentiment", "--train", str(SENTIMENT[0]), "--valid",
                 str(SENTIMENT[1]), "--out", str(tmp_path / "model"), "--set",
                 f"embeddings={bad}"]) != 0
    assert f"{bad}:2: 1 numbers where the first row" in capsys.readouterr().err
    assert not (tmp_path / "model").exists() or not any((tmp_path / "model").iterdir())


@pytest.mark.slow  # a whole CLI training run; the default run trains with vectors in process
def test_training_reruns_after_the_bad_vectors_file_is_fixed(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("the 0.1 0.2\nfilm 0.3\n", encoding="utf-8")
    result = run_cli("train", "sentiment", "--train", SENTIMENT[0], "--valid", SENTIMENT[1],
                     "--out", tmp_path / "model", "--set", f"embeddings={bad}", check=False)
    assert result.returncode != 0
    bad.write_text("the 0.1 0.2\nfilm 0.3 0.4\n", encoding="utf-8")  # fixed: the rerun trains
    run_cli("train", "sentiment", "--train", SENTIMENT[0], "--valid", SENTIMENT[1], "--out",
            tmp_path / "model", "--set", f"embeddings={bad}", "epochs=1", "--quiet")
    assert (tmp_path / "model" / "1" / "saved_model.pb").is_file()
