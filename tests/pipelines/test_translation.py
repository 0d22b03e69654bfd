"""Translation end to end: export parity in a fresh process, metadata, the Python API."""

import json
import random

import numpy as np
import pandas as pd
import pytest

import seqtasks
from helpers import (DATA, assert_signatures_match_fresh_process,
                     export_untrained_translation, tiny_translation_config)
from pipelines import translation
from seqtasks.errors import ConfigError, DataError, ModelError
from seqtasks.evaluation.metrics import translation_metrics

TRAIN, VALID = DATA / "translation" / "train.tsv", DATA / "translation" / "valid.tsv"
TEXTS = ["Der Mann liest ein Buch.", "", "Wie geht es dir?", "Unbekannte Wörter: Ωμέγα ☃!",
         "Am Abend trinkt die Frau einen Tee im Garten."]


CALLS = [("serving_default", {"text": (TEXTS, "string")}),
         ("attention", {"text": (TEXTS, "string"), "beam_size": (2, "int32")})] + [
    ("translate", {"text": (TEXTS, "string"), "beam_size": (k, "int32"),
                   "length_penalty": (0.6, "float32")}) for k in (1, 3)]


@pytest.fixture
def exported(translation_export):
    """The session's untrained translation export (tests/conftest.py); training is covered by
    the reversal test below, tests/pipelines/test_caption.py and tests/cli/."""
    return translation_export


@pytest.mark.slow  # 25 s; the API tests below load the same export in process
def test_export_reloaded_in_a_fresh_process_translates_as_in_memory(exported):
    export_dir, functions = exported
    assert_signatures_match_fresh_process(functions, export_dir, CALLS)
    meta = json.loads((export_dir / "seqtasks.json").read_text())
    assert meta["signatures"] == ["attention", "serving_default", "translate"]
    vocab = (export_dir / "assets" / "target_vocab.txt").read_text().splitlines()
    assert vocab[:4] == ["[PAD]", "[UNK]", "[BOS]", "[EOS]"] and len(vocab) <= 300


def test_api_translates_lists_series_and_frames(exported):
    predictor = seqtasks.load(exported[0].parent)
    greedy = predictor.translate(TEXTS, beam_size=1)
    assert len(greedy) == len(TEXTS) and all(isinstance(t, str) for t in greedy)
    assert predictor.translate(pd.Series(TEXTS), beam_size=1) == greedy
    assert predictor.predict(TEXTS) == predictor.translate(TEXTS)  # the model's beam size
    frame = predictor.predict(pd.DataFrame({"id": [1, 2], "de": TEXTS[:2]}), text_column="de",
                              beam_size=1)
    assert list(frame.columns) == ["id", "de", "translation"]
    assert frame.translation.tolist() == greedy[:2]
    assert predictor.translate([]) == []


def test_api_attention_rows_match_the_tokens(exported):
    predictor = seqtasks.load(exported[0])
    rows = predictor.attention(TEXTS[:3], beam_size=2)
    assert [row["translation"] for row in rows] == predictor.translate(TEXTS[:3], beam_size=2)
    for row in rows:
        assert row["weights"].shape == (len(row["output_tokens"]), len(row["source_tokens"]))
        assert row["output_tokens"][-1] == "[EOS]"
        if row["source_tokens"]:
            np.testing.assert_allclose(row["weights"].sum(1), 1.0, rtol=1e-5)
    assert rows[0]["source_tokens"][:2] == ["▁Der", "▁Mann"]


def test_api_rejects_bad_inputs(exported):
    predictor = seqtasks.load(exported[0])
    assert predictor.translate("Der Mann.") == predictor.translate(["Der Mann."])[0]  # one in
    with pytest.raises(DataError, match="item 1 is int"):
        predictor.translate(["ok", 3])
    with pytest.raises(ConfigError, match="beam_size must be >= 1"):
        predictor.translate(["ok"], beam_size=0)
    with pytest.raises(DataError, match="missing column 'text'"):
        predictor.predict(pd.DataFrame({"de": ["x"]}))


def test_evaluate_scores_bleu_and_chrf_and_plots_attention(exported, tmp_path):
    export_dir, _ = exported
    metrics = translation.evaluate(export_dir, VALID, plot=tmp_path / "a.png", beam_size=1)
    assert metrics["n"] == 80 and metrics["beam_size"] == 1
    assert (tmp_path / "a.png").read_bytes()[:4] == b"\x89PNG"
    assert "BLEU" in translation.TASK.format_metrics(metrics)


@pytest.mark.slow  # a second export, 10 s
def test_a_model_without_attention_says_so(tmp_path):
    export_dir, _ = export_untrained_translation(tiny_translation_config(attention="none"),
                                                 tmp_path / "m", tmp_path)
    predictor = seqtasks.load(export_dir)
    assert len(predictor.translate(["Hallo"])) == 1
    with pytest.raises(ModelError, match="trained with attention=none"):
        predictor.attention(["Hallo"])


def test_translation_metrics_are_sacrebleu_scores():
    references = ["The man reads a book.", "Where is the station?"]
    perfect = translation_metrics(references, references)
    assert perfect["bleu"] == 100.0 and perfect["chrf"] == 100.0 and perfect["exact_match"] == 1
    shouted = [r.upper() for r in references]
    assert translation_metrics(references, shouted)["bleu"] < 10
    folded = translation_metrics(references, shouted, lowercase=True)
    assert folded["bleu"] == 100.0 and "case:lc" in folded["bleu_signature"]


def reversal_tsv(path, n: int, rng: random.Random):
    """``a b c<TAB>c b a`` lines: 3-7 letters and their reversal."""
    lines = []
    for _ in range(n):
        letters = [rng.choice("abcdefghij") for _ in range(rng.randint(3, 7))]
        lines.append(f"{' '.join(letters)}\t{' '.join(reversed(letters))}\n")
    path.write_text("".join(lines), encoding="utf-8")
    return path


@pytest.mark.slow  # training to a quality bar (the default run trains translation through the CLI)
@pytest.mark.filterwarnings("ignore:.*(shuffle=True|ran out of data).*:UserWarning")
def test_a_tiny_seeded_run_learns_to_reverse(tmp_path):
    """The whole pipeline (reading, vocabularies, tf.data, teacher forcing, export, in-graph
    greedy and beam decoding) learns a small task: an untrained model gets no reversal right,
    five epochs get nearly all."""
    rng = random.Random(0)
    train, valid = reversal_tsv(tmp_path / "train.tsv", 2000, rng), reversal_tsv(
        tmp_path / "valid.tsv", 100, rng)
    config = tiny_translation_config(level="word", embedding_dim=16, units=32, dropout=0.0,
                                     label_smoothing=0.0, learning_rate=0.01, epochs=5,
                                     early_stopping_patience=5, attention="bahdanau", seed=0)
    untrained, _ = export_untrained_translation(config, tmp_path / "untrained", tmp_path, train,
                                                valid)
    assert translation.evaluate(untrained, valid, beam_size=1)["exact_match"] == 0.0
    export_dir = translation.train(config, train, valid, tmp_path / "model", verbose=0)
    for beam_size in (1, 3):
        metrics = translation.evaluate(export_dir, valid, beam_size=beam_size)
        assert metrics["exact_match"] >= 0.95, metrics
