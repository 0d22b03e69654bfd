"""Shared fixtures. One tiny sentiment model and one tiny NER model are trained per test session
and reused (training is the costly part of a default run: each file training its own copy of the
same model cost a minute or more)."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import pytest  # noqa: E402

from helpers import DATA, tiny_ner_config, tiny_sentiment_config  # noqa: E402


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


@pytest.fixture(autouse=True)
def _process_sigint_as_before():
    """Tests that run the CLI's ``main`` in this process install its process-wide Ctrl-C handling
    (a second Ctrl-C ends the process); put back what was there, so a later test's Ctrl-C is its
    own (tests/training/test_interrupt.py) and not the end of the test session."""
    import signal
    import sys

    before = signal.getsignal(signal.SIGINT)
    yield
    if signal.getsignal(signal.SIGINT) is not before:
        signal.signal(signal.SIGINT, before)
    interrupt = sys.modules.get("seqtasks.training.interrupt")
    if interrupt is not None:
        interrupt._state["on_repeat"] = None
