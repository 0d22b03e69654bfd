"""``seqtasks serve --workers N``: N server processes on the same REST and gRPC ports (the
kernel spreads connections over them), stopped together on SIGTERM; a worker that cannot bind
stops the server with one line."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import grpc
import httpx2 as httpx
import pytest

from helpers import ROOT, wait_until_answering

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)}


def serve(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "pipelines.cli", "serve", *args], env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def listening_sockets(port: int) -> int:
    """Sockets in LISTEN state on ``port`` (gRPC listens on IPv6 too), from /proc/net."""
    rows = [row.split() for name in ("tcp", "tcp6")
            for row in Path(f"/proc/net/{name}").read_text().splitlines()[1:]]
    return sum(1 for row in rows if int(row[1].split(":")[-1], 16) == port and row[3] == "0A")


def workers_of(pid: int) -> list[int]:
    """The parent's children that run a server (not multiprocessing's resource tracker)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in children
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes()]


@pytest.mark.slow  # two worker processes load TensorFlow and the model: about 20 s
def test_two_workers_share_both_ports_answer_and_stop_together(sentiment_export, port,
                                                               new_port):
    from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc
    import tensorflow as tf

    grpc_port = new_port()
    process = serve(f"sst={sentiment_export[0].parent}", "--port", str(port), "--grpc-port",
                    str(grpc_port), "--workers", "2")
    try:
        wait_until_answering(process, f"http://127.0.0.1:{port}/v1/models/sst")
        deadline = time.monotonic() + 120
        while listening_sockets(port) < 2 or listening_sockets(grpc_port) < 2:
            assert time.monotonic() < deadline, "the second worker did not bind"
            time.sleep(0.2)
        workers = workers_of(process.pid)
        assert len(workers) == 2
        body = json.dumps({"instances": ["a gorgeous , witty film"]})
        answers = {httpx.post(f"http://127.0.0.1:{port}/v1/models/sst:predict", content=body,
                              timeout=30).text for _ in range(20)}  # a new connection each
        assert len(answers) == 1 and "predictions" in answers.pop()
        request = predict_pb2.PredictRequest()
        request.model_spec.name = "sst"
        request.inputs["text"].CopyFrom(tf.make_tensor_proto(["a gorgeous , witty film"]))
        for _ in range(5):
            with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
                response = prediction_service_pb2_grpc.PredictionServiceStub(channel).Predict(
                    request, 30)
                assert "label" in response.outputs

        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=90)
        assert process.returncode == 0, stderr
        assert "2 worker processes" in stderr
        assert not any(Path(f"/proc/{pid}").exists() for pid in workers)
    finally:
        if process.poll() is None:
            process.kill()


@pytest.mark.slow  # the workers load the model before they bind: about 15 s
def test_a_port_another_process_holds_stops_every_worker_with_one_line(sentiment_export, port):
    with socket.socket() as holder:  # a plain listener, which does not share its port
        holder.bind(("127.0.0.1", port))
        holder.listen()
        process = serve(f"sst={sentiment_export[0].parent}", "--port", str(port),
                        "--workers", "2")
        _, stderr = process.communicate(timeout=180)
    assert process.returncode == 3
    assert f"cannot bind 127.0.0.1:{port} (Address already in use)" in stderr


@pytest.mark.parametrize("flags, message", [
    (["--workers", "0"], "--workers must be between 1 and 64, got 0"),
    (["--workers", "2", "--port", "0"], "the worker processes share fixed ports")])
def test_worker_counts_and_ports_they_cannot_share_are_refused(sentiment_export, flags,
                                                               message, capsys):
    from pipelines.cli.main import main

    assert main(["serve", f"sst={sentiment_export[0].parent}", *flags]) == 2
    assert message in capsys.readouterr().err
