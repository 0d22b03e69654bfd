"""The autoencoder mode: trained end to end, embeddings through the export."""

import json

import numpy as np
import pandas as pd
import pytest

import seqtasks
from helpers import DATA, serve_in_fresh_process, tiny_translation_config
from pipelines import autoencoder
from seqtasks.data.parallel import read_parallel
from seqtasks.errors import ConfigError

# A 35 s training run: in the slow run. The encoder-decoder trains in the default run through
# tests/pipelines/test_caption.py (the same decoder and lifecycle).
pytestmark = pytest.mark.slow

SENTENCES = ["The man reads a book.", "", "Where is the station?"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    work = tmp_path_factory.mktemp("autoencoder")
    lines = work / "sentences.txt"
    lines.write_text("".join(f"{t}\n" for t in read_parallel(DATA / "translation" /
                                                            "valid.tsv").targets))
    config = tiny_translation_config(autoencoder.AutoencoderConfig)
    return autoencoder.train(config, lines, lines, work / "model", verbose=0), config


def test_training_exports_embeddings_and_reconstructions(trained):
    export_dir, config = trained
    meta = json.loads((export_dir / "seqtasks.json").read_text())
    assert meta["task"] == "autoencoder" and meta["signatures"] == [
        "embed", "serving_default", "translate"]
    assert meta["embedding_size"] == 2 * config.units  # bidirectional final states
    assert meta["metrics"]["n"] == 80 and meta["training"]["epochs_run"] == 1
    assert (export_dir / "assets" / "source_vocab.txt").read_text() == (
        export_dir / "assets" / "target_vocab.txt").read_text()  # one shared vocabulary

    predictor = seqtasks.load(export_dir)
    embeddings = predictor.embed(SENTENCES)
    assert embeddings.shape == (3, 2 * config.units) and np.all(np.isfinite(embeddings))
    served = serve_in_fresh_process(export_dir, SENTENCES, signature="embed")
    np.testing.assert_allclose(served["embedding"], embeddings, atol=1e-5)
    assert predictor.embed([]).shape == (0, 2 * config.units)
    frame = predictor.predict(pd.DataFrame({"text": SENTENCES}))
    np.testing.assert_allclose(np.array(frame.embedding.tolist()), embeddings, atol=1e-6)
    assert len(predictor.translate(SENTENCES, beam_size=2)) == 3


def test_attention_is_refused():
    with pytest.raises(ConfigError, match="Unknown attention 'bahdanau'. Expected one of: none"):
        tiny_translation_config(autoencoder.AutoencoderConfig, attention="bahdanau")


def test_evaluate_refuses_a_plot_it_cannot_draw(trained, tmp_path):
    export_dir, _ = trained
    data = tmp_path / "lines.txt"
    data.write_text("The man reads a book.\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="--plot: autoencoder evaluations have no figure"):
        autoencoder.evaluate(export_dir, data, plot=tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()
    assert autoencoder.evaluate(export_dir, data)["n"] == 1
