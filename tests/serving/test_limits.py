"""Every size a request claims is bounded before work starts, over REST and gRPC alike: the
request is refused (HTTP 400 / INVALID_ARGUMENT naming the limit and its flag), and the server
answers the next request within a second."""

import json
import time

import grpc
import httpx2 as httpx
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.framework import tensor_pb2, types_pb2
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

from seqtasks.serving.app import ServerConfig, create_app
from seqtasks.serving.limits import RequestLimits
from seqtasks.serving.manager import ModelManager
from seqtasks.serving.models import load_models

LIMITS = RequestLimits(max_tensor_elements=1000, max_string_bytes=100, max_num_samples=4,
                       max_decode_length=50, max_beam_size=3)
TIMEOUT_S = 30


@pytest.fixture(scope="module")
def server(decoder_base, tf2_half_plus_two, half_plus_two, serve_app, new_port):
    models = load_models([f"decoder={decoder_base}", f"tf2={tf2_half_plus_two}",
                          f"default={half_plus_two}"])
    grpc_port = new_port()
    config = ServerConfig(max_batch_size=8, batch_timeout_ms=1, max_body_bytes=256 * 1024,
                          timeout_ms=5000, limits=LIMITS)
    with serve_app(create_app(ModelManager.of(models), config, grpc_port=grpc_port)) as url:
        with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
            yield url, prediction_service_pb2_grpc.PredictionServiceStub(channel)


def generate_body(prompts=("hi",), max_length=3, num_samples=2, beam_size=1) -> str:
    return json.dumps({"inputs": {"prompt": list(prompts), "max_length": max_length,
                                  "num_samples": num_samples, "beam_size": beam_size}})


def assert_answers_the_next_request_quickly(url, stub):
    start = time.monotonic()
    response = httpx.post(f"{url}/v1/models/decoder:predict", content=generate_body(),
                          timeout=TIMEOUT_S)
    assert response.json() == {"outputs": {"text": ["hi", "hi"], "steps": [3, 3]}}
    response = stub.Predict(generate_request(), TIMEOUT_S)
    assert tf.make_ndarray(response.outputs["steps"]).tolist() == [3, 3]
    assert time.monotonic() - start < 1.0


def generate_request(max_length=3, num_samples=2, beam_size=1, prompt=b"hi"):
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "decoder"
    request.inputs["prompt"].CopyFrom(tf.make_tensor_proto([prompt], dtype=tf.string))
    for name, value in (("max_length", max_length), ("num_samples", num_samples),
                        ("beam_size", beam_size)):
        request.inputs[name].CopyFrom(tf.make_tensor_proto(value, dtype=tf.int32))
    return request


@pytest.mark.parametrize("field, value, flag", [
    ("num_samples", 20_000_000, "--max-num-samples"),
    ("max_length", 2**31 - 1, "--max-decode-length"),
    ("beam_size", 1000, "--max-beam-size")])
def test_decoding_sizes_over_the_limit_are_refused(server, field, value, flag):
    url, stub = server
    response = httpx.post(f"{url}/v1/models/decoder:predict",
                          content=generate_body(**{field: value}), timeout=TIMEOUT_S)
    assert response.status_code == 400
    message = response.json()["error"]
    assert f"input '{field}' is {value}" in message and flag in message
    with pytest.raises(grpc.RpcError) as error:
        stub.Predict(generate_request(**{field: value}), TIMEOUT_S)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert flag in error.value.details()
    assert_answers_the_next_request_quickly(url, stub)


def test_the_limits_themselves_are_allowed(server):
    url, _ = server
    response = httpx.post(f"{url}/v1/models/decoder:predict", timeout=TIMEOUT_S,
                          content=generate_body(max_length=50, num_samples=4, beam_size=3))
    assert response.json()["outputs"]["steps"] == [50] * 4


def test_a_long_string_is_refused(server):
    url, stub = server
    response = httpx.post(f"{url}/v1/models/decoder:predict", timeout=TIMEOUT_S,
                          content=generate_body(prompts=["x" * 101]))
    assert response.status_code == 400 and "--max-string-bytes" in response.json()["error"]
    response = httpx.post(f"{url}/v1/models/default:classify", timeout=TIMEOUT_S,
                          content=json.dumps({"signature_name": "classify_x_to_y",
                                              "examples": [{"x": 2.0, "pad": "y" * 200}]}))
    assert response.status_code == 400 and "--max-string-bytes" in response.json()["error"]
    with pytest.raises(grpc.RpcError) as error:
        stub.Predict(generate_request(prompt=b"x" * 101), TIMEOUT_S)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "--max-string-bytes" in error.value.details()
    assert_answers_the_next_request_quickly(url, stub)


def test_a_rest_tensor_over_the_element_limit_is_refused(server):
    url, stub = server
    response = httpx.post(f"{url}/v1/models/tf2:predict", timeout=TIMEOUT_S,
                          content=json.dumps({"inputs": [[0.5] * 40] * 30}))
    assert response.status_code == 400
    assert "1200 elements" in response.json()["error"]
    assert "--max-tensor-elements" in response.json()["error"]
    assert_answers_the_next_request_quickly(url, stub)


def tf2_request(proto) -> predict_pb2.PredictRequest:
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "tf2"
    request.inputs["x"].CopyFrom(proto)
    return request


def declared(shape, dtype=types_pb2.DT_FLOAT, **fields) -> tensor_pb2.TensorProto:
    proto = tensor_pb2.TensorProto(dtype=dtype, **fields)
    for size in shape:
        proto.tensor_shape.dim.add(size=size)
    return proto


@pytest.mark.parametrize("proto, expected", [
    # a tiny request declaring 200 MB (kept small: a regression would allocate it)
    (declared([50_000_000], float_val=[1.0]), "--max-tensor-elements"),
    (declared([20_000, 20_000], tensor_content=b"\0" * 16), "--max-tensor-elements"),
    (declared([10], float_val=[1.0, 2.0, 3.0]), "holds 3 values"),
    (declared([100], tensor_content=b"\0" * 16), "tensor_content holds 16 bytes"),
    (declared([-1]), "negative size"),
    (declared([2, 3], dtype=types_pb2.DT_STRING, tensor_content=b"abc"), "string_val"),
])
def test_a_grpc_tensor_is_checked_before_it_is_allocated(server, proto, expected):
    url, stub = server
    if proto.dtype == types_pb2.DT_STRING:  # the decoder's prompt
        request = generate_request()
        request.inputs["prompt"].CopyFrom(proto)
    else:
        request = tf2_request(proto)
    start = time.monotonic()
    with pytest.raises(grpc.RpcError) as error:
        stub.Predict(request, TIMEOUT_S)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT, error.value.details()
    assert expected in error.value.details()
    assert time.monotonic() - start < 1.0
    assert_answers_the_next_request_quickly(url, stub)


def test_a_grpc_tensor_may_hold_one_value_for_all_its_elements(server):
    """TensorFlow repeats a single value to fill the declared shape (make_tensor_proto of a
    scalar with a shape does this); within the element limit that is allowed."""
    _, stub = server
    response = stub.Predict(tf2_request(declared([3], float_val=[2.0])), TIMEOUT_S)
    assert tf.make_ndarray(response.outputs["y"]).tolist() == [3.0, 3.0, 3.0]
    proto = tf.make_tensor_proto(np.arange(6, dtype=np.float32).reshape(2, 3))
    response = stub.Predict(tf2_request(proto), TIMEOUT_S)
    assert tf.make_ndarray(response.outputs["y"]).tolist() == [[2.0, 2.5, 3.0], [3.5, 4.0, 4.5]]


def test_examples_per_request_and_body_bytes_are_bounded(server):
    url, stub = server
    response = httpx.post(f"{url}/v1/models/default:regress", timeout=TIMEOUT_S,
                          content=json.dumps({"signature_name": "regress_x_to_y",
                                              "examples": [{"x": 1.0}] * 9}))
    assert response.status_code == 400 and "--max-batch-size" in response.json()["error"]
    response = httpx.post(f"{url}/v1/models/tf2:predict", timeout=TIMEOUT_S,
                          content=b"[" * (300 * 1024))
    assert response.status_code == 413
    request = tf2_request(tf.make_tensor_proto(np.zeros(70_000, np.float32)))
    with pytest.raises(grpc.RpcError) as error:
        stub.Predict(request, TIMEOUT_S)
    assert error.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert_answers_the_next_request_quickly(url, stub)
