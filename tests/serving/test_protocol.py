"""TF Serving REST protocol over the sentiment export: every endpoint, every error case."""

import base64
import json

import httpx2 as httpx
import numpy as np
import pytest

import seqtasks
from seqtasks.serving.app import ServerConfig, create_app

TEXTS = ["a gorgeous , witty film", "", "dull and lifeless", "it 's a BAD, bad movie!"]
MAX_BATCH = 8


@pytest.fixture(scope="module")
def url(sentiment_models, serve_app):
    app = create_app(sentiment_models, ServerConfig(max_batch_size=MAX_BATCH, batch_timeout_ms=2,
                                                    max_body_bytes=64 * 1024))
    with serve_app(app) as base:
        yield base


@pytest.fixture(scope="module")
def expected(sentiment_export):
    rows = seqtasks.load(sentiment_export[0]).predict(TEXTS)
    return [row["label"] for row in rows], np.array(
        [row["probabilities"] for row in rows])


def post(url, path, body, **kwargs):
    content = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return httpx.post(url + path, content=content, timeout=30, **kwargs)


def test_model_status_lists_the_served_version(url):
    status = {"model_version_status": [{"version": "1", "state": "AVAILABLE",
                                        "status": {"error_code": "OK", "error_message": ""}}]}
    assert httpx.get(url + "/v1/models/sentiment").json() == status
    assert httpx.get(url + "/v1/models/sentiment/versions/1").json() == status


def test_metadata_has_signature_defs_and_seqtasks_json(url):
    for path in ("/v1/models/sentiment/metadata", "/v1/models/sentiment/versions/1/metadata"):
        response = httpx.get(url + path)
        assert response.status_code == 200
        body = response.json()
        assert body["model_spec"] == {"name": "sentiment", "signature_name": "", "version": "1"}
        signature = body["metadata"]["signature_def"]["signature_def"]["serving_default"]
        assert signature["method_name"] == "tensorflow/serving/predict"
        assert signature["inputs"]["text"]["dtype"] == "DT_STRING"
        assert signature["inputs"]["text"]["tensor_shape"]["dim"] == [{"size": "-1", "name": ""}]
        assert set(signature["outputs"]) == {"label", "probabilities"}
        assert body["metadata"]["seqtasks"]["labels"] == ["neg", "pos"]


def test_row_format_predictions_match_the_python_api(url, expected):
    labels, probabilities = expected
    for path in ("/v1/models/sentiment:predict", "/v1/models/sentiment/versions/1:predict"):
        response = post(url, path, {"instances": TEXTS})
        assert response.status_code == 200, response.text
        predictions = response.json()["predictions"]
        assert [p["label"] for p in predictions] == labels
        np.testing.assert_allclose([p["probabilities"] for p in predictions], probabilities,
                                   atol=1e-6)


def test_columnar_format_named_and_b64_inputs_agree(url, expected):
    labels, probabilities = expected
    b64 = [{"b64": base64.b64encode(t.encode()).decode()} for t in TEXTS]
    bodies = [{"inputs": TEXTS}, {"inputs": {"text": TEXTS}}, {"inputs": b64},
              {"signature_name": "serving_default", "inputs": {"text": TEXTS}}]
    for body in bodies:
        outputs = post(url, "/v1/models/sentiment:predict", body).json()["outputs"]
        assert outputs["label"] == labels
        np.testing.assert_allclose(outputs["probabilities"], probabilities, atol=1e-6)
    rows = post(url, "/v1/models/sentiment:predict",
                {"instances": [{"text": TEXTS[0]}, b64[1], TEXTS[2], {"text": b64[3]}]}).json()
    assert [p["label"] for p in rows["predictions"]] == labels


@pytest.mark.parametrize("body, message", [
    (b"{not json", "malformed JSON request body"),
    (b"\xff\xfe\x00", "malformed JSON request body"),
    (b"[" * 50_000, "nested too deeply"),
    ([TEXTS], "request body must be a JSON object"),
    ({"instance": TEXTS}, "unknown field 'instance'"),
    ({"instances": TEXTS, "inputs": TEXTS}, "exactly one of 'instances'"),
    ({"signature_name": "serving_default"}, "exactly one of 'instances'"),
    ({"instances": "one string"}, "'instances' must be a list"),
    ({"instances": ["ok", 3]}, "expected strings for input 'text' (string), got an integer"),
    ({"instances": [["nested"]]}, "expected a value of rank 1 (lists nested 1 deep), found lists"),
    ({"instances": [None]}, "got null"),
    ({"inputs": "one string"}, "expected a value of rank 1"),
    ({"inputs": {"txt": TEXTS}}, "unknown input 'txt' (this signature takes 'text')"),
    ({"instances": [{"txt": "x"}]}, "instance 0: unknown input 'txt'"),
    ({"instances": [{}]}, "instance 0: missing input 'text'"),
    ({"instances": TEXTS, "signature_name": "nope"},
     "unknown signature_name 'nope' (this model has: serving_default)"),
    ({"instances": TEXTS, "signature_name": 7}, "'signature_name' must be a string"),
    ({"instances": []}, "the batch is empty"),
    ({"instances": ["x"] * (MAX_BATCH + 1)}, f"batch too large: {MAX_BATCH + 1} examples"),
    ({"instances": [{"b64": "not base64!"}]}, "invalid base64"),
])
def test_bad_requests_get_400_naming_the_problem(url, body, message):
    response = post(url, "/v1/models/sentiment:predict", body)
    assert response.status_code == 400, response.text
    assert message in response.json()["error"]


@pytest.mark.parametrize("method, path, status, message", [
    ("GET", "/v1/models/nope", 404, "model 'nope' not found; this server has: sentiment"),
    ("GET", "/v1/models/nope/metadata", 404, "model 'nope' not found"),
    ("POST", "/v1/models/nope:predict", 404, "model 'nope' not found"),
    ("GET", "/v1/models/sentiment/versions/9", 404, "no served version 9"),
    ("POST", "/v1/models/sentiment/versions/9:predict", 404, "no served version 9"),
    ("GET", "/v1/models/sentiment/versions/9/metadata", 404, "no served version 9"),
    ("GET", "/v2/models/sentiment", 404, "no such endpoint"),
    ("POST", "/v1/models/sentiment:frobnicate", 404, "unknown method ':frobnicate'"),
    ("POST", "/v1/models/sentiment:classify", 400, "unknown field 'instances'"),
    ("DELETE", "/v1/models/sentiment", 405, "Method Not Allowed"),
    ("GET", "/v1/models/sentiment:predict", 405, "Method Not Allowed"),
])
def test_unknown_models_versions_and_endpoints(url, method, path, status, message):
    response = httpx.request(method, url + path, content=json.dumps({"instances": ["x"]}))
    assert response.status_code == status, response.text
    assert message in response.json()["error"]


def test_body_size_limit_gives_413(url):
    big = {"instances": ["word " * 20_000]}
    response = post(url, "/v1/models/sentiment:predict", big)
    assert response.status_code == 413 and "over the limit" in response.json()["error"]

    def chunks():  # no Content-Length: the limit holds while streaming
        yield b'{"instances": ["'
        for _ in range(100):
            yield b"x" * 1024
        yield b'"]}'

    response = httpx.post(url + "/v1/models/sentiment:predict", content=chunks(), timeout=30)
    assert response.status_code == 413


def test_odd_strings_are_predicted_not_rejected(url):
    body = (r'{"instances": ["\ud800 lone surrogate", "nul \u0000 byte", '
            r'"\u00e9t\u00e9 \ud83d\ude00"]}')
    response = post(url, "/v1/models/sentiment:predict", body)
    assert response.status_code == 200 and len(response.json()["predictions"]) == 3


def test_all_versions_serves_older_versions_and_newest_by_default(sentiment_export, serve_app,
                                                                  tmp_path):
    import shutil

    from seqtasks.serving.models import load_models

    root = tmp_path / "sentiment"
    shutil.copytree(sentiment_export[0], root / "1")
    shutil.copytree(sentiment_export[0], root / "3")
    newest_only = load_models([f"sst={root}"])
    assert sorted(newest_only["sst"].loaded) == [3]
    with pytest.raises(LookupError, match="serve older versions with --all-versions"):
        newest_only["sst"].resolve(1)
    with serve_app(create_app(load_models([f"sst={root}"], all_versions=True))) as base:
        versions = httpx.get(base + "/v1/models/sst").json()["model_version_status"]
        assert [v["version"] for v in versions] == ["1", "3"]
        assert httpx.get(base + "/v1/models/sst/metadata").json()["model_spec"]["version"] == "3"
        assert post(base, "/v1/models/sst/versions/1:predict", {"instances": ["x"]}).status_code \
            == 200


def test_model_arguments_are_checked(sentiment_export, tmp_path):
    from seqtasks.errors import ModelError
    from seqtasks.serving.models import load_models

    root = str(sentiment_export[0].parent)
    with pytest.raises(ModelError, match="two models are named"):
        load_models([root, root])
    with pytest.raises(ModelError, match="model directory not found"):
        load_models([str(tmp_path / "missing")])
    with pytest.raises(ModelError, match="no SavedModel versions"):
        load_models([str(tmp_path)])
    with pytest.raises(ModelError, match="a model name must be non-empty"):
        load_models([f"a:b={root}"])
