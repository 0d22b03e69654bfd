"""Fuzzed request bodies never get a 5xx: every answer is a prediction or a JSON error."""

import json

import httpx2 as httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seqtasks.serving.app import ServerConfig, create_app

FIELDS = ["instances", "inputs", "signature_name", "text", "b64", "x", "ids", "raw", "factor"]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20)
    | st.sampled_from([10 ** 400, 2 ** 63, -2 ** 31 - 1, 1e39, -1e308, float("inf")])
    | st.builds(lambda s: {"b64": s}, st.text(max_size=8)),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=4), children, max_size=3),
    max_leaves=12)
bodies = st.one_of(
    st.dictionaries(st.sampled_from(FIELDS[:3]), json_values, max_size=3),
    st.builds(lambda v: {"instances": v}, st.lists(json_values, max_size=5)),
    st.builds(lambda v, s: {"inputs": v, "signature_name": s}, json_values,
              st.sampled_from(["serving_default", "echo", "scale", "total", "nope"])),
    json_values)
FUZZ = settings(max_examples=150, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])


@pytest.fixture(scope="module")
def urls(sentiment_models, numbers_export, half_plus_two, serve_app):
    from seqtasks.serving.models import load_models

    models = {**sentiment_models, **load_models([f"numbers={numbers_export}",
                                                 f"default={half_plus_two}"])}
    app = create_app(models, ServerConfig(max_batch_size=8, batch_timeout_ms=1))
    with serve_app(app) as base:
        with httpx.Client(base_url=base, timeout=30) as client:
            yield client


def check(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text
    body = response.json()
    if response.status_code == 200:
        assert set(body) in ({"predictions"}, {"outputs"}, {"results"})
    else:
        assert set(body) == {"error"} and body["error"]


@FUZZ
@given(body=bodies, model=st.sampled_from(["sentiment", "numbers"]))
def test_fuzzed_json_bodies_never_give_5xx(urls, body, model):
    check(urls.post(f"/v1/models/{model}:predict",
                    content=json.dumps(body, allow_nan=True).encode()))


@FUZZ
@given(raw=st.binary(max_size=200))
def test_fuzzed_bytes_never_give_5xx(urls, raw):
    check(urls.post("/v1/models/sentiment:predict", content=raw))


@FUZZ
@given(path=st.text(alphabet="abc/:v1models0123456789-_%.", max_size=40))
def test_fuzzed_paths_never_give_5xx(urls, path):
    response = urls.get("/v1/models/" + path)
    # 405: a GET on NAME:verb (the verbs are POST only)
    assert response.status_code in (200, 400, 404, 405), response.text
    if response.status_code == 405:
        assert ":" in path
    assert ("error" in response.json()) == (response.status_code != 200)


example_bodies = st.one_of(
    st.builds(lambda e, c, s: {"examples": e, "context": c, "signature_name": s},
              st.lists(st.dictionaries(st.sampled_from(["x", "x2", "y"]), json_values,
                                       max_size=2), max_size=3),
              st.dictionaries(st.sampled_from(["x", "x2"]), json_values, max_size=2),
              st.sampled_from(["classify_x_to_y", "regress_x_to_y", "regress_x2_to_y3",
                               "serving_default", "nope"])),
    st.dictionaries(st.sampled_from(["examples", "context", "signature_name"]), json_values,
                    max_size=3),
    json_values)


@FUZZ
@given(body=example_bodies, verb=st.sampled_from(["classify", "regress"]))
def test_fuzzed_classify_and_regress_bodies_never_give_5xx(urls, body, verb):
    check(urls.post(f"/v1/models/default:{verb}",
                    content=json.dumps(body, allow_nan=True).encode()))
