"""Every request has a deadline (``--rest_api_timeout_in_ms``, or the gRPC client's if sooner):
past it the client gets 504 / DEADLINE_EXCEEDED and the model call itself stops, so the worker
and the signature's batcher are free again; SIGTERM during a long request exits in bounded time."""

import json
import os
import signal
import subprocess
import sys
import threading
import time

import grpc
import httpx2 as httpx
import pytest
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

from helpers import ROOT, wait_until_answering
from seqtasks.serving.app import ServerConfig, create_app
from seqtasks.serving.limits import RequestLimits
from seqtasks.serving.manager import ModelManager
from seqtasks.serving.models import load_models
from seqtasks.serving.timed_call import timeout_bucket_ms

FOREVER = 2**31 - 1  # loop steps: hours of work for the fake decoder
TIMEOUT_MS = 500


@pytest.fixture(scope="module")
def server(decoder_base, serve_app, new_port):
    models = load_models([f"decoder={decoder_base}"])
    grpc_port = new_port()
    # one inference thread: a call that did not stop would block every later request
    config = ServerConfig(batch_timeout_ms=1, timeout_ms=TIMEOUT_MS, inference_threads=1,
                          limits=RequestLimits(max_decode_length=FOREVER))
    with serve_app(create_app(ModelManager.of(models), config, grpc_port=grpc_port)) as url:
        with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
            yield url, prediction_service_pb2_grpc.PredictionServiceStub(channel)


def body(max_length: int) -> str:
    return json.dumps({"inputs": {"prompt": ["hi"], "max_length": max_length, "num_samples": 1,
                                  "beam_size": 1}})


def grpc_request(max_length: int) -> predict_pb2.PredictRequest:
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "decoder"
    request.inputs["prompt"].CopyFrom(tf.make_tensor_proto([b"hi"], dtype=tf.string))
    for name, value in (("max_length", max_length), ("num_samples", 1), ("beam_size", 1)):
        request.inputs[name].CopyFrom(tf.make_tensor_proto(value, dtype=tf.int32))
    return request


def assert_answers_within_a_second(url):
    start = time.monotonic()
    response = httpx.post(f"{url}/v1/models/decoder:predict", content=body(5), timeout=30)
    assert response.json()["outputs"]["steps"] == [5]
    assert time.monotonic() - start < 1.0


def test_timeout_buckets_round_up_to_powers_of_two():
    assert [timeout_bucket_ms(s) for s in (0.0, 0.05, 0.3, 0.5, 1.0, 30.0)] == \
        [64, 64, 512, 512, 1024, 32768]


def test_a_rest_request_past_the_deadline_gets_504_and_frees_the_worker(server):
    url, _ = server
    start = time.monotonic()
    response = httpx.post(f"{url}/v1/models/decoder:predict", content=body(FOREVER), timeout=30)
    assert response.status_code == 504
    assert "--rest_api_timeout_in_ms" in response.json()["error"]
    assert TIMEOUT_MS / 1000 <= time.monotonic() - start < 2 * TIMEOUT_MS / 1000 + 0.5
    time.sleep(2 * TIMEOUT_MS / 1000)  # the graph stops at its timeout bucket (<= 2x)
    assert_answers_within_a_second(url)


def test_the_grpc_clients_deadline_is_honoured(server):
    url, stub = server
    start = time.monotonic()
    with pytest.raises(grpc.RpcError) as error:
        stub.Predict(grpc_request(FOREVER), timeout=0.2)
    assert error.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert time.monotonic() - start < 1.0
    time.sleep(0.5)  # its call stops at the 256 ms bucket
    assert_answers_within_a_second(url)
    response = stub.Predict(grpc_request(7), timeout=5)
    assert tf.make_ndarray(response.outputs["steps"]).tolist() == [7]


def test_the_server_deadline_holds_for_grpc_clients_without_one(server):
    url, stub = server
    with pytest.raises(grpc.RpcError) as error:
        stub.Predict(grpc_request(FOREVER), timeout=30)
    assert error.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert "--rest_api_timeout_in_ms" in error.value.details()
    time.sleep(2 * TIMEOUT_MS / 1000)
    assert_answers_within_a_second(url)


@pytest.mark.slow
def test_sigterm_during_a_long_request_exits_within_the_grace_period(decoder_base, port):
    """No request deadline at all (0): the grace period alone bounds the shutdown."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", "serve", f"decoder={decoder_base}",
         "--port", str(port), "--rest_api_timeout_in_ms", "0", "--max-decode-length",
         str(FOREVER), "--shutdown-grace-s", "2"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(process, url + "/v1/models/decoder")
        answers = {}
        sender = threading.Thread(target=lambda: answers.update(response=httpx.post(
            url + "/v1/models/decoder:predict", content=body(FOREVER), timeout=60)))
        sender.daemon = True
        sender.start()
        time.sleep(1.0)  # the request is now in its model call
        signalled = time.monotonic()
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
        assert time.monotonic() - signalled < 2 + 5, stderr
        assert process.returncode in (0, -signal.SIGTERM), stderr
        assert "grace period" in stderr
    finally:
        if process.poll() is None:
            process.kill()
