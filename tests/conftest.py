"""Shared fixtures. One tiny sentiment model is trained per test session and reused."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import pytest  # noqa: E402

from helpers import DATA, tiny_sentiment_config  # noqa: E402


@pytest.fixture(scope="session")
def sentiment_export(tmp_path_factory):
    """(export version dir, config) of a tiny model trained on the bundled sample."""
    from pipelines import sentiment

    config = tiny_sentiment_config()
    out = tmp_path_factory.mktemp("sentiment") / "model"
    export_dir = sentiment.train(config, DATA / "sentiment" / "train.tsv",
                                 DATA / "sentiment" / "valid.tsv", out, verbose=0)
    return export_dir, config
