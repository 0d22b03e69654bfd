"""Language model end to end: export parity in a fresh process, perplexity checked by hand,
training with overlapping TBPTT windows, API, CLI."""

import json
import math

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

import seqtasks
from helpers import DATA, run_cli, run_signatures_in_fresh_process
from pipelines import language_model as lm
from seqtasks import config as config_lib
from seqtasks.errors import ConfigError, DataError
from seqtasks.layers.recurrent import state_sizes
from seqtasks.text import Vocabulary
from seqtasks.text.vocab import BOS_ID
from seqtasks.training import lifecycle
from seqtasks.training.tbptt import TruncatedBPTT

TRAIN, VALID = DATA / "lm" / "shakespeare_train.txt", DATA / "lm" / "shakespeare_valid.txt"
GENERATE = {"prompt": (["ROMEO:", ""], "string"), "max_length": (25, "int32"),
            "temperature": (0.9, "float32"), "top_k": (8, "int32"), "top_p": (0.95, "float32"),
            "num_samples": (2, "int32"), "seed": (11, "int32"), "allow_unk": (False, "bool")}
TEXTS = ["First Citizen:\nWe are accounted poor citizens", "", "zzq unseen\n\nMENENIUS:"]


def tiny_config(**overrides) -> lm.LanguageModelConfig:
    base = lm.LanguageModelConfig(level="char", embedding_dim=12, units=16, num_layers=1,
                                  epochs=2, batch_size=8, bptt_steps=16, bptt_stride=12,
                                  dropout=0.1, max_length=40, seed=3)
    return config_lib.replace(base, **overrides)


def untrained(config: lm.LanguageModelConfig, texts=TEXTS):
    keras.utils.set_random_seed(config.seed)
    counting = lm.make_encoder(config, Vocabulary([]))
    vocabulary = Vocabulary.build([[token.decode() for token in row]
                                   for row in counting.tokens(tf.constant(texts)).to_list()])
    encoder = lm.make_encoder(config, vocabulary)
    return lm.build(config, len(vocabulary)), encoder


@pytest.fixture(scope="module")
def char_export(tmp_path_factory):
    out = tmp_path_factory.mktemp("lm") / "model"
    return lm.train(tiny_config(), TRAIN, VALID, out, verbose=0)


CONFIGS = [
    {},  # characters, a line per [BOS] ... [EOS], tied embeddings through a projection
    {"level": "word", "word_split": "punctuation", "eos_at_line_end": False, "cell": "gru",
     "tie_embeddings": False, "num_layers": 2}]


# Both in the slow run (17 s each): the default run's LM tests load the exports in process,
# and sentiment and NER reload in a fresh process there.
@pytest.mark.slow
@pytest.mark.parametrize("overrides", CONFIGS, ids=["char", "word"])
def test_exports_reloaded_in_a_fresh_process_sample_and_score_as_in_memory(tmp_path, overrides):
    config = tiny_config(**overrides)
    model, encoder = untrained(config)
    functions = lm.serving_functions(model, encoder, config)
    generated = functions["generate"](**{k: tf.constant(v, getattr(tf, t))
                                         for k, (v, t) in GENERATE.items()})
    scores = functions["score"](tf.constant(TEXTS))
    trainer = TruncatedBPTT(model, config.batch_size, config.bptt_steps, config.stride)
    export_dir = lifecycle.export(lm.TASK, config, trainer, lm.LanguageModelData(
        encoder, None, None, None), tmp_path / "m", {}, {}, tmp_path)
    by_generate, by_default, by_score = run_signatures_in_fresh_process([
        (export_dir, "generate", GENERATE), (export_dir, "serving_default", GENERATE),
        (export_dir, "score", {"text": (TEXTS, "string")})])
    assert by_generate["text"].tolist() == [t.decode() for t in generated["text"].numpy()]
    assert by_generate["length"].tolist() == generated["length"].numpy().tolist()
    assert by_default["text"].tolist() == by_generate["text"].tolist()
    np.testing.assert_allclose(by_score["log_prob"], scores["log_prob"], rtol=1e-5)
    assert by_score["n_tokens"].tolist() == scores["n_tokens"].numpy().tolist()


@pytest.mark.parametrize("overrides", [{}, {"eos_at_line_end": False, "cell": "gru"}])
def test_perplexity_is_exp_of_the_mean_nll_computed_independently(overrides):
    config = tiny_config(**overrides)
    model, encoder = untrained(config)
    scored = lm.serving_functions(model, encoder, config)["score"](tf.constant(TEXTS))
    total, count = 0.0, 0
    for i, ids in enumerate(encoder.encode(tf.constant(TEXTS)).to_list()):
        zeros = [np.zeros((1, size), np.float32) for size in state_sizes(config)]
        logits = model.predict_on_batch([np.array([ids[:-1]], np.int32), *zeros])[0][0]
        log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
        nll = [-log_probs[t, target] for t, target in enumerate(ids[1:]) if target != BOS_ID]
        assert scored["n_tokens"][i] == len(nll)
        np.testing.assert_allclose(scored["log_prob"][i], -sum(nll), rtol=1e-4)
        expected = np.exp(np.mean(nll)) if nll else np.nan  # running text "": nothing to score
        np.testing.assert_allclose(scored["perplexity"][i], expected, rtol=1e-4)
        total, count = total + sum(nll), count + len(nll)
    metrics = lm.language_model_metrics(-total, count, "char")
    assert metrics["perplexity"] == pytest.approx(math.exp(total / count))
    assert metrics["bits_per_char"] == pytest.approx(total / count / math.log(2))
    diverged = lm.language_model_metrics(-1e4 * count, count, "char")  # a model gone wild
    assert diverged["perplexity"] == math.inf and diverged["nats_per_token"] == 1e4


def test_word_level_reads_the_data_unk_marker_as_unk():
    config = tiny_config(level="word")
    model, encoder = untrained(config, ["the cat sat", "the dog"])
    assert "<unk>" not in encoder.vocabulary
    score = lm.serving_functions(model, encoder, config)["score"]
    out = score(tf.constant(["the <unk> sat", "the [UNK] sat", "the zebra sat", "the cat sat"]))
    log_prob = out["log_prob"].numpy()
    assert log_prob[0] == log_prob[1] == log_prob[2] != log_prob[3]


def test_training_exports_metrics_that_evaluate_reproduces(char_export):
    meta = json.loads((char_export / "seqtasks.json").read_text())
    assert meta["task"] == "lm" and sorted(meta["signatures"]) == ["generate", "score"]
    metrics = meta["metrics"]
    assert list(metrics)[:4] == ["perplexity", "nats_per_token", "bits_per_char", "n_tokens"]
    assert metrics["n_tokens"] == len(VALID.read_text())  # every character, "\n" as [EOS]
    assert metrics["perplexity"] == pytest.approx(math.exp(metrics["nats_per_token"]))
    assert 1 < metrics["perplexity"] < len(Vocabulary.load(char_export / "assets" / "vocab.txt"))
    assert meta["training"]["epochs_run"] == 2 and meta["training"]["train_tokens_per_second"] > 0
    # What malloc trained with (seqtasks.training.malloc); glibc here unless a user set its own.
    assert meta["training"]["malloc"] in ("top_pad=64MiB,mmap_threshold=32MiB",
                                          "user environment", "system default")
    assert (char_export / "learning_curves.png").exists()
    assert not (char_export.parent / ".resume").exists()
    evaluated = lm.evaluate(char_export.parent, VALID)
    assert evaluated["perplexity"] == pytest.approx(metrics["perplexity"], rel=1e-6)


def test_api_generate_is_seeded_and_respects_every_limit(char_export):
    model = seqtasks.load(char_export)
    samples = model.generate(["ROMEO:", "a"], max_length=30, top_k=5, num_samples=3, seed=4)
    assert [len(s) for s in samples] == [3, 3]
    assert all(s.startswith("ROMEO:") for s in samples[0])
    assert all(len(s) <= len("ROMEO:") + 30 and "\n" not in s for row in samples for s in row)
    assert samples == model.generate(["ROMEO:", "a"], max_length=30, top_k=5, num_samples=3,
                                     seed=4)
    assert samples != model.generate(["ROMEO:", "a"], max_length=30, top_k=5, num_samples=3,
                                     seed=5)
    greedy = model.generate(None, max_length=20, temperature=0, num_samples=3)[0]
    assert len(set(greedy)) == 1
    assert all("[UNK]" not in s for s in model.generate(None, max_length=50, num_samples=8)[0])
    for bad in ({"temperature": -1}, {"top_p": 0}, {"num_samples": 0}, {"max_length": 0}):
        with pytest.raises(ConfigError, match=next(iter(bad))):
            model.generate(["x"], **bad)


def test_api_scores_texts_and_frames(char_export):
    model = seqtasks.load(char_export)
    rows = model.score(TEXTS)
    assert [r["n_tokens"] for r in rows] == [len(TEXTS[0]) + 1, 1, len(TEXTS[2]) + 1]
    assert all(r["log_prob"] < 0 and r["perplexity"] > 1 for r in rows)
    frame = model.predict_frame(pd.DataFrame({"id": [1, 2, 3], "text": TEXTS}))
    assert list(frame.columns) == ["id", "text", "log_prob", "n_tokens", "perplexity"]
    np.testing.assert_allclose(frame.log_prob, [r["log_prob"] for r in rows])
    assert model.score(TEXTS[0]) == rows[0]  # one text in, its score out
    with pytest.raises(DataError, match="file not found"):
        lm.evaluate(char_export, DATA / "lm" / "missing.txt")


def test_cli_evaluate_json_and_generate(char_export, capsys):
    # Through the CLI's main in process (a real process costs a TensorFlow import; sentiment's
    # test keeps the real-process `evaluate`).
    from pipelines.cli.main import main

    capsys.readouterr()
    assert main(["evaluate", str(char_export.parent), "--data", str(VALID), "--json"]) == 0
    printed = capsys.readouterr()
    metrics = json.loads(printed.out.strip().splitlines()[-1])
    assert list(metrics) == ["perplexity", "nats_per_token", "bits_per_char", "n_tokens"]
    meta = json.loads((char_export / "seqtasks.json").read_text())
    assert metrics["perplexity"] == pytest.approx(meta["metrics"]["perplexity"])
    assert printed.err.strip() == ""
    assert "bits/char" in lm.TASK.format_metrics(metrics)
    assert main(["generate", str(char_export.parent), "--prompt", "ROMEO:", "--max-length", "20",
                 "--top-p", "0.9", "--num-samples", "2", "--seed", "7"]) == 0
    generated = capsys.readouterr().out
    expected = seqtasks.load(char_export).generate(["ROMEO:"], max_length=20, top_p=0.9,
                                                   num_samples=2, seed=7)[0]
    assert generated == "\n\n".join(expected) + "\n"


@pytest.mark.slow
def test_cli_trains_a_word_level_model(tmp_path):
    out = tmp_path / "word_lm"
    result = run_cli("train", "lm", "--level", "word", "--train", TRAIN, "--valid", VALID,
                     "--out", out, "--epochs", "1", "--quiet", "--set", "units=8",
                     "embedding_dim=8", "num_layers=1", "batch_size=4", "bptt_steps=8",
                     "word_split=punctuation", "lowercase=true")
    assert f"exported lm model to {out / '1'}" in result.stdout
    meta = json.loads((out / "1" / "seqtasks.json").read_text())
    assert meta["config"]["level"] == "word" and "bits_per_char" not in meta["metrics"]
    samples = run_cli("generate", out, "--num-samples", "2", "--max-length", "5").stdout
    assert samples.count("\n\n") == 1


@pytest.mark.parametrize("level", ["word", "char"])
def test_generated_text_echoes_the_prompt_as_typed(level):
    """Not its ids: an unknown word is not [UNK], the case is kept."""
    config = tiny_config(level=level, lowercase=True)
    model, encoder = untrained(config, ["the cat sat", "the dog"])
    prompts = ["The Zebra", "ends with a space ", ""]
    out = lm.serving_functions(model, encoder, config)["generate"](**{
        **{k: tf.constant(v, getattr(tf, t)) for k, (v, t) in GENERATE.items()},
        "prompt": tf.constant(prompts), "num_samples": tf.constant(1)})
    for prompt, text, continuation in zip(prompts, out["text"].numpy(),
                                          out["continuation"].numpy()):
        text, continuation = text.decode(), continuation.decode()
        space = " " if level == "word" and prompt and continuation and prompt[-1] != " " else ""
        assert text == prompt + space + continuation


@pytest.mark.slow  # a training run of its own, for one warning
def test_a_one_character_corpus_is_warned_about_not_flattered(tmp_path, capsys):
    corpus = tmp_path / "a.txt"
    corpus.write_text("aaaa aaaa\n" * 40, encoding="utf-8")
    export_dir = lm.train(tiny_config(epochs=1), corpus, VALID, tmp_path / "m", verbose=0)
    training = json.loads((export_dir / "seqtasks.json").read_text())["training"]
    assert training["valid_unknown_share"] > 0.75  # every character but space and newline
    assert "of the validation tokens are [UNK]" in capsys.readouterr().err


def test_predict_scores_one_text_a_list_or_a_frame_as_score_does(char_export):
    from seqtasks.inference.load import predict

    predictor = seqtasks.load(char_export)
    texts = ["the cat sat", "a dog"]
    rows = predictor.predict(texts)
    assert rows == predictor.score(texts) and set(rows[0]) == {"log_prob", "n_tokens",
                                                               "perplexity"}
    assert predict(char_export, texts[0]) == rows[0] == predictor.score(texts[0])
    frame = predictor.predict(pd.DataFrame({"text": texts}))
    assert frame["log_prob"].tolist() == pytest.approx([row["log_prob"] for row in rows])
    one = predictor.generate("the", max_length=5, num_samples=2, seed=1)
    assert len(one) == 2 and all(text.startswith("the") for text in one)
    assert one == predictor.generate(["the"], max_length=5, num_samples=2, seed=1)[0]
