"""TF Serving's own REST test cases (tensorflow_serving/model_servers/tensorflow_model_server_test.py)
on half_plus_two-style models that carry no seqtasks.json, with the answers TF Serving gives."""

import json

import httpx2 as httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from seqtasks.serving.app import ServerConfig, create_app
from seqtasks.serving.models import load_models

STATUS_123 = {"model_version_status": [{"version": "123", "state": "AVAILABLE",
                                        "status": {"error_code": "OK", "error_message": ""}}]}


def _info(name, dtype, dims):
    """A TensorInfo in TF Serving's metadata JSON (json_format of the proto, defaults printed)."""
    return {"name": name, "dtype": dtype,
            "tensor_shape": {"dim": [{"size": str(d), "name": ""} for d in dims],
                             "unknown_rank": False}}


def _signature(inputs, outputs, method):
    return {"inputs": inputs, "outputs": outputs, "method_name": f"tensorflow/serving/{method}",
            "defaults": {}}


EXAMPLES = _info("tf_example:0", "DT_STRING", [-1])
EXPECTED_SIGNATURES = {
    "serving_default": _signature({"x": _info("x:0", "DT_FLOAT", [-1, 1])},
                                  {"y": _info("y:0", "DT_FLOAT", [-1, 1])}, "predict"),
    "classify_x_to_y": _signature({"inputs": EXAMPLES},
                                  {"scores": _info("y:0", "DT_FLOAT", [-1, 1])}, "classify"),
    "regress_x_to_y": _signature({"inputs": EXAMPLES},
                                 {"outputs": _info("y:0", "DT_FLOAT", [-1, 1])}, "regress"),
    "regress_x_to_y2": _signature({"inputs": EXAMPLES},
                                  {"outputs": _info("y2:0", "DT_FLOAT", [-1, 1])}, "regress"),
    "regress_x2_to_y3": _signature({"inputs": _info("x2:0", "DT_FLOAT", [-1, 1])},
                                   {"outputs": _info("y3:0", "DT_FLOAT", [-1, 1])}, "regress"),
}


@pytest.fixture(scope="module")
def client(half_plus_two, tf2_half_plus_two, half_plus_three, serve_app):
    models = load_models([f"default={half_plus_two}", f"tf2={tf2_half_plus_two}",
                          f"half_plus_three={half_plus_three}"])
    with serve_app(create_app(models, ServerConfig(batch_timeout_ms=1))) as url:
        with httpx.Client(base_url=url, timeout=30) as http:
            yield http


def post(client, path, body):
    return client.post(path, content=json.dumps(body))


def test_classify(client):  # testClassifyREST
    response = post(client, "/v1/models/default:classify",
                    {"signature_name": "classify_x_to_y", "examples": [{"x": 2.0}]})
    assert response.json() == {"results": [[["", 3.0]]]}


def test_regress(client):  # testRegressREST
    response = post(client, "/v1/models/default:regress",
                    {"signature_name": "regress_x_to_y", "examples": [{"x": 2.0}]})
    assert response.json() == {"results": [3.0]}


def test_predict_rows_and_columns(client):  # testPredictREST, testPredictColumnarREST
    assert post(client, "/v1/models/default:predict", {"instances": [2.0, 3.0, 4.0]}).json() \
        == {"predictions": [3.0, 3.5, 4.0]}
    assert post(client, "/v1/models/default:predict", {"inputs": [2.0, 3.0, 4.0]}).json() \
        == {"outputs": [3.0, 3.5, 4.0]}
    assert post(client, "/v1/models/default/versions/123:predict",
                {"instances": [[2.0], [3.0]]}).json() == {"predictions": [[3.0], [3.5]]}


def test_inputs_are_fed_as_the_request_builds_them(client):  # half_plus_three
    path = "/v1/models/half_plus_three:predict"
    assert post(client, path, {"instances": [2.0]}).json() == {"predictions": [4.0]}
    assert post(client, path, {"instances": [2.0, 4.0]}).json() == {"predictions": [4.0, 5.0]}
    assert post(client, path, {"inputs": 2.0}).json() == {"outputs": 4.0}
    assert post(client, path, {"instances": [[2.0], [4.0]]}).json() \
        == {"predictions": [[4.0], [5.0]]}
    wrong = post(client, path, {"instances": ["two"]})
    assert wrong.status_code == 400 and "expected numbers" in wrong.text
    too_big = post(client, path, {"inputs": [[0] * 2100] * 2100})  # over the element limit
    assert too_big.status_code == 400 and "--max-tensor-elements" in too_big.text


def test_status_and_zero_padded_version(client):  # testGetStatusREST
    assert client.get("/v1/models/default").json() == STATUS_123
    assert client.get("/v1/models/default/versions/123").json() == STATUS_123


def test_metadata_is_tf_servings(client):  # testGetModelMetadataREST
    for path in ("/v1/models/default/metadata", "/v1/models/default/versions/123/metadata"):
        assert client.get(path).json() == {
            "model_spec": {"name": "default", "signature_name": "", "version": "123"},
            "metadata": {"signature_def": {"signature_def": EXPECTED_SIGNATURES}}}


def test_context_and_several_examples(client):
    body = {"signature_name": "regress_x_to_y", "context": {"x": 1.0, "x2": 4.0},
            "examples": [{}, {"x": 2.0}]}  # the example's own feature wins over the context
    assert post(client, "/v1/models/default:regress", body).json() == {"results": [2.5, 3.0]}
    body = {"signature_name": "regress_x_to_y2", "context": {"x": 2.0}, "examples": [{}, {"x": 4}]}
    response = post(client, "/v1/models/default:regress", body)
    assert response.status_code == 400  # an int64 feature where a float one is parsed
    body["examples"][1]["x"] = 4.0
    assert post(client, "/v1/models/default:regress", body).json() == {"results": [4.0, 5.0]}


def test_tf2_savedmodel(client):
    assert post(client, "/v1/models/tf2:predict", {"instances": [2.0, 4.0]}).json() == \
        {"predictions": [3.0, 4.0]}
    metadata = client.get("/v1/models/tf2/metadata").json()
    assert set(metadata["metadata"]) == {"signature_def"}  # no seqtasks.json: nothing else
    # TF Serving lists the init op too (its saved_model_half_plus_two_tf2 metadata does)
    signatures = metadata["metadata"]["signature_def"]["signature_def"]
    assert sorted(signatures) == ["__saved_model_init_op", "serving_default"]
    assert signatures["__saved_model_init_op"]["outputs"]["__saved_model_init_op"]["dtype"] == \
        "DT_INVALID"
    response = post(client, "/v1/models/tf2:predict", {"signature_name": "__saved_model_init_op",
                                                       "instances": [1.0]})
    assert response.status_code == 400 and "unknown signature_name" in response.text


@pytest.mark.parametrize("path, body, status, message", [
    ("/v1/models/default:classify", {"examples": [{"x": 2.0}]}, 400,
     "signature 'serving_default' has method_name 'tensorflow/serving/predict'"),
    ("/v1/models/default:regress", {"signature_name": "classify_x_to_y", "examples": [{"x": 1.0}]},
     400, "not 'tensorflow/serving/regress'"),
    ("/v1/models/default:regress", {"signature_name": "regress_x2_to_y3",
                                    "examples": [{"x": 1.0}]}, 400, "exactly one string input"),
    ("/v1/models/default:classify", {"signature_name": "classify_x_to_y", "examples": []}, 400,
     "'examples' must be a non-empty list"),
    ("/v1/models/default:classify", {"signature_name": "classify_x_to_y", "examples": [{}]}, 400,
     "the model rejected"),  # x has no default
    ("/v1/models/default:classify", {"signature_name": "classify_x_to_y",
                                     "examples": [{"x": [True]}]}, 400, "booleans"),
    ("/v1/models/default:classify", {"signature_name": "classify_x_to_y", "example": []}, 400,
     "unknown field 'example'"),
    ("/v1/models/default/labels/stable:predict", {"instances": [1.0]}, 400,
     "unrecognized version label 'stable'"),
    ("/v1/models/default/versions/7:predict", {"instances": [1.0]}, 404, "no served version 7"),
    ("/v1/models/nope:regress", {"examples": [{"x": 1.0}]}, 404, "model 'nope' not found"),
])
def test_errors_are_json_with_tf_servings_http_status(client, path, body, status, message):
    response = post(client, path, body)
    assert response.status_code == status, response.text
    assert set(response.json()) == {"error"} and message in response.json()["error"]


def test_prometheus_metrics_parse_and_count(client):  # testPrometheusEndpoint
    for _ in range(3):
        post(client, "/v1/models/default:predict", {"instances": [1.0, 2.0]})
    post(client, "/v1/models/default:predict", {"instances": ["x"]})
    response = client.get("/monitoring/prometheus/metrics")
    assert response.status_code == 200 and "# TYPE" in response.text
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    labels = (("api", "predict"), ("model", "default"), ("protocol", "rest"),
              ("signature", "serving_default"))
    assert samples[("seqtasks_serving_requests_total", tuple(sorted(labels + (("code", "OK"),))))] \
        >= 3
    assert samples[("seqtasks_serving_requests_total",
                    tuple(sorted(labels + (("code", "INVALID_ARGUMENT"),))))] >= 1
    assert samples[("seqtasks_serving_request_latency_seconds_count", labels)] >= 4
    assert samples[("seqtasks_serving_batch_size_sum",
                    (("model", "default"), ("signature", "serving_default")))] >= 6
    assert samples[("seqtasks_serving_loaded_versions", (("model", "default"),))] == 1
