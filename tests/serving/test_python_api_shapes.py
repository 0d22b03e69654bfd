"""The Python API takes one input, a list or a DataFrame on every predictor, and answers in the
shape the REST server answers for the same export (a real server on 127.0.0.1)."""

from __future__ import annotations

import json

import httpx2 as httpx
import numpy as np
import pandas as pd
import pytest

import seqtasks
from seqtasks.inference.load import predict as predict_path
from seqtasks.serving.app import ServerConfig, create_app

TEXTS = ["a gorgeous , witty film", "", "dull and lifeless", "Marie Curie was born in Warsaw ."]


@pytest.fixture(scope="module")
def url(sentiment_export, ner_export, serve_app):
    from seqtasks.serving.models import load_models

    models = load_models([f"sentiment={sentiment_export[0].parent}", f"ner={ner_export.parent}"])
    with serve_app(create_app(models, ServerConfig(batch_timeout_ms=2))) as base:
        yield base


def rest_rows(url: str, name: str, texts: list[str]) -> list:
    response = httpx.post(f"{url}/v1/models/{name}:predict",
                          content=json.dumps({"instances": texts}), timeout=60)
    assert response.status_code == 200, response.text
    return response.json()["predictions"]


@pytest.mark.parametrize("export", ["sentiment", "ner"])
def test_one_string_a_list_and_a_dataframe(export, sentiment_export, ner_export):
    export_dir = sentiment_export[0] if export == "sentiment" else ner_export
    predictor = seqtasks.load(export_dir)
    rows = predictor.predict(TEXTS)
    assert isinstance(rows, list) and len(rows) == len(TEXTS)
    one = predictor.predict(TEXTS[0])
    assert isinstance(one, dict) and one.keys() == rows[0].keys()
    assert json.dumps(one) == json.dumps(predictor.predict([TEXTS[0]])[0])
    assert predictor.predict(pd.Series(TEXTS)) == rows
    assert predictor.predict(tuple(TEXTS)) == rows
    assert predict_path(export_dir.parent, TEXTS[-1]).keys() == one.keys()  # generic predict
    frame = pd.DataFrame({"id": range(len(TEXTS)), "review": TEXTS})
    predicted = predictor.predict(frame, text_column="review")
    assert isinstance(predicted, pd.DataFrame) and len(predicted) == len(TEXTS)
    assert predicted[["id", "review"]].equals(frame)  # the input columns are kept unchanged
    assert len(predicted.columns) > 2
    assert predictor.predict([]) == []


def test_classifier_rows_are_the_rest_rows(url, sentiment_export):
    predictor = seqtasks.load(sentiment_export[0])
    python_rows, served = predictor.predict(TEXTS), rest_rows(url, "sentiment", TEXTS)
    assert [row.keys() for row in python_rows] == [row.keys() for row in served]
    for python_row, rest_row in zip(python_rows, served):
        assert python_row["label"] == rest_row["label"]
        assert isinstance(python_row["probabilities"], list)
        np.testing.assert_allclose(python_row["probabilities"], rest_row["probabilities"],
                                   atol=1e-6)
        named = predictor.probabilities_by_label(python_row)
        assert list(named) == predictor.labels and max(named, key=named.get) == rest_row["label"]
    one = predictor.predict(TEXTS[0])
    assert one["label"] == served[0]["label"]
    np.testing.assert_allclose(one["probabilities"], served[0]["probabilities"], atol=1e-6)


def test_tagger_rows_are_the_rest_rows_without_padding(url, ner_export):
    python_rows, served = seqtasks.load(ner_export).predict(TEXTS), rest_rows(url, "ner", TEXTS)
    for python_row, rest_row in zip(python_rows, served):
        length, count = rest_row["lengths"], rest_row["entity_count"]
        assert python_row["tokens"] == rest_row["tokens"][:length]
        assert python_row["tags"] == rest_row["tags"][:length]
        assert python_row["entities"] == [
            {"text": rest_row["entity_text"][j], "type": rest_row["entity_type"][j],
             "start": rest_row["entity_start"][j], "end": rest_row["entity_end"][j]}
            for j in range(count)]
