"""Shared fixtures. One tiny sentiment model and one tiny NER model are trained per test session
and reused (training is the costly part of a default run: each file training its own copy of the
same model cost a minute or more)."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import pytest  # noqa: E402

from helpers import (DATA, export_untrained_translation, tiny_ner_config,  # noqa: E402
                     tiny_sentiment_config, tiny_translation_config)


@pytest.fixture(scope="session")
def sentiment_export(tmp_path_factory):
    """(export version dir, config) of a tiny model trained on the bundled sample."""
    from pipelines import sentiment

    config = tiny_sentiment_config()
    out = tmp_path_factory.mktemp("sentiment") / "model"
    export_dir = sentiment.train(config, DATA / "sentiment" / "train.tsv",
                                 DATA / "sentiment" / "valid.tsv", out, verbose=0)
    return export_dir, config


@pytest.fixture(scope="session")
def ner_export(tmp_path_factory):
    """Export version dir of a tiny NER model trained on the bundled sample (``tiny_ner_config``:
    enough epochs for tests/pipelines/test_ner.py to check what it learned). Tests only read it."""
    from pipelines import ner

    out = tmp_path_factory.mktemp("ner") / "model"
    return ner.train(tiny_ner_config(), DATA / "ner" / "train.txt", DATA / "ner" / "valid.txt",
                     out, verbose=0)


@pytest.fixture(scope="session")
def translation_export(tmp_path_factory):
    """(export version dir, in-memory serving functions) of an untrained translation model with
    Luong attention and beam search: the translation API tests and the CLI's refusals read it
    (training through the encoder-decoder: tests/pipelines/test_caption.py, and under -m slow
    the autoencoder and `seqtasks train translate`)."""
    config = tiny_translation_config(attention="luong_general", cell="lstm", beam_size=2,
                                     max_output_offset=3)
    work_dir = tmp_path_factory.mktemp("translation")
    return export_untrained_translation(config, work_dir / "model", work_dir)


@pytest.fixture(autouse=True)
def _sigint_handling_left_as_found():
    """Library code and the CLI's ``main`` called in-process leave the process's SIGINT handler
    as they found it (only the console script installs its own): a test that changes it fails,
    instead of turning a later test's Ctrl-C into the end of the test session."""
    import signal

    before = signal.getsignal(signal.SIGINT)
    yield
    after = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, before)
    assert after is before, f"the SIGINT handler was left changed: {after!r}"
