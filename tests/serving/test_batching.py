"""Micro-batching and signatures beyond sentiment's: concurrent requests share model calls, a bad
request never fails the others, and any SavedModel signature is served from its specs alone."""

import asyncio
import json

import httpx2 as httpx
import numpy as np
import pytest

import seqtasks
from seqtasks.serving.app import ServerConfig, create_app
from seqtasks.serving.models import load_models

TEXTS = [f"review {i}: {'a gorgeous , witty film' if i % 2 else 'dull and lifeless'}"
         for i in range(24)]


async def _post_all(url: str, bodies: list) -> list[httpx.Response]:
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        return await asyncio.gather(*(client.post(path, content=json.dumps(body))
                                      for path, body in bodies))


def post_concurrently(url: str, bodies: list) -> list[httpx.Response]:
    return asyncio.run(_post_all(url, bodies))


@pytest.fixture(scope="module")
def numbers_server(numbers_export, serve_app):
    app = create_app(load_models([f"numbers={numbers_export}"]),
                     ServerConfig(max_batch_size=64, batch_timeout_ms=50))
    with serve_app(app) as url:
        yield url, app.state.server


def test_concurrent_requests_share_model_calls_and_get_their_own_answers(sentiment_models,
                                                                        sentiment_export,
                                                                        serve_app):
    expected = seqtasks.load(sentiment_export[0]).predict(TEXTS)
    app = create_app(sentiment_models, ServerConfig(max_batch_size=16, batch_timeout_ms=50))
    bodies = [("/v1/models/sentiment:predict", {"instances": [text]}) for text in TEXTS[:20]]
    bodies.append(("/v1/models/sentiment:predict", {"instances": TEXTS[20:]}))
    bodies.insert(7, ("/v1/models/sentiment:predict", {"instances": ["fine", 42]}))  # bad one
    with serve_app(app) as url:
        responses = post_concurrently(url, bodies)
    batcher = next(iter(app.state.server.batchers.values()))
    assert batcher.requests == len(bodies) - 1 and batcher.batches < batcher.requests / 2
    bad = responses.pop(7)
    assert bad.status_code == 400 and "got an integer" in bad.json()["error"]
    got = [p for r in responses for p in r.json()["predictions"]]
    assert [p["label"] for p in got] == [row["label"] for row in expected]
    np.testing.assert_allclose([p["probabilities"] for p in got],
                               [row["probabilities"] for row in expected],
                               atol=1e-5)


def test_a_request_that_fails_inside_the_model_does_not_fail_its_batch(numbers_server):
    url, server = numbers_server
    values = [str(i) for i in range(12)]
    bodies = [("/v1/models/numbers:predict", {"instances": [v]}) for v in values]
    bodies.insert(5, ("/v1/models/numbers:predict", {"instances": ["12", "not a number"]}))
    responses = post_concurrently(url, bodies)
    bad = responses.pop(5)
    assert bad.status_code == 400
    assert "the model rejected instance 1 (counting from 0)" in bad.json()["error"]
    assert "not a number" in bad.json()["error"]
    assert [r.json()["predictions"] for r in responses] == [[2.0 * i] for i in range(12)]
    assert server.batchers[("numbers", 1, "serving_default")].batches < len(bodies)


def test_several_inputs_ints_bools_and_b64_outputs(numbers_server):
    url, _ = numbers_server
    body = {"signature_name": "echo",
            "instances": [{"ids": 1, "raw": {"b64": "AAH/"}}, {"ids": -5, "raw": "text"}]}
    response = httpx.post(url + "/v1/models/numbers:predict", content=json.dumps(body))
    assert response.json() == {"predictions": [
        {"next_ids": 2, "raw_bytes": {"b64": "AAH/"}, "flag": True},
        {"next_ids": -4, "raw_bytes": {"b64": "dGV4dA=="}, "flag": False}]}


def test_unbatched_inputs_split_batches_and_rows_are_fed_as_built(numbers_server):
    url, _ = numbers_server
    path = "/v1/models/numbers:predict"
    bodies = [(path, {"signature_name": "scale", "inputs": {"x": [[1, 2], [3, 4]], "factor": f}})
              for f in (1, 2, 1.5, 2)]
    responses = post_concurrently(url, bodies)
    for (_, body), response in zip(bodies, responses):
        factor = body["inputs"]["factor"]
        assert response.json() == {"outputs": {"scaled": [[factor, 2 * factor],
                                                          [3 * factor, 4 * factor]],
                                               "sum": [3.0, 7.0]}}
    rows = httpx.post(url + path, content=json.dumps(
        {"signature_name": "scale", "instances": [{"x": [1, 2], "factor": 2}]}))
    # as TF Serving: the instances are stacked and fed as built (factor [2] broadcasts)
    assert rows.json() == {"predictions": [{"scaled": [2.0, 4.0], "sum": 3.0}]}


def test_signatures_with_unbatched_outputs_run_each_request_alone(numbers_server):
    url, _ = numbers_server
    bodies = [("/v1/models/numbers:predict", {"signature_name": "total", "inputs": [i, i]})
              for i in range(6)]
    assert [r.json() for r in post_concurrently(url, bodies)] == \
        [{"outputs": 2.0 * i} for i in range(6)]


@pytest.mark.parametrize("body, message", [
    ({"signature_name": "echo", "instances": [{"ids": 1.5, "raw": "x"}]}, "expected integers"),
    ({"signature_name": "echo", "instances": [{"ids": True, "raw": "x"}]}, "got a boolean"),
    ({"signature_name": "echo", "instances": [{"ids": 2 ** 70, "raw": "x"}]}, "out of range"),
    ({"signature_name": "echo", "instances": [{"ids": 1}]}, "instance 0: missing input 'raw'"),
    ({"signature_name": "echo", "instances": ["x"]}, "instance 0 must be an object"),
    ({"signature_name": "echo", "inputs": {"ids": [1, 2], "raw": ["x"]}},
     "batched inputs differ in their first dimension"),
    ({"signature_name": "scale", "inputs": {"x": [[1, 2, 3]], "factor": 1}},
     "dimension 1 must be 2"),
    ({"signature_name": "scale", "inputs": {"x": [[1, 2], [3]], "factor": 1}}, "ragged lists"),
    ({"signature_name": "scale", "inputs": {"x": [[1, "2"]], "factor": 1}}, "expected numbers"),
    ({"signature_name": "scale", "inputs": {"x": [[1, 2]], "factor": [1]}},
     "expected a value of rank 0"),
    ({"signature_name": "scale", "inputs": {"x": [[1, 2]], "factor": 1e39}}, "out of range"),
    ({"signature_name": "scale", "inputs": {"x": [[1, 2]], "factor": 10 ** 400}}, "out of range"),
])
def test_type_and_shape_errors_name_the_input(numbers_server, body, message):
    url, _ = numbers_server
    response = httpx.post(url + "/v1/models/numbers:predict", content=json.dumps(body))
    assert response.status_code == 400 and message in response.json()["error"], response.text
