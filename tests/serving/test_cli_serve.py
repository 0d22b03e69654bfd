"""``seqtasks serve`` as users run it: a real process on 127.0.0.1, graceful shutdown on SIGTERM."""

import json
import os
import signal
import subprocess
import sys
import threading
import time

import httpx2 as httpx

import seqtasks
from helpers import ROOT, run_cli


def test_serve_defaults_to_localhost():
    from pipelines.cli.args import build_parser

    args = build_parser().parse_args(["serve", "some/dir"])
    assert (args.host, args.port, args.max_batch_size) == ("127.0.0.1", 8501, 128)


def test_serve_rejects_a_directory_that_is_not_an_export(tmp_path):
    result = run_cli("serve", tmp_path, "--port", "1", check=False)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {tmp_path}: no SavedModel versions (expected {tmp_path}/<version>/"
        "saved_model.pb, e.g. the --out directory of 'seqtasks train')"]


def test_serve_answers_then_finishes_in_flight_requests_on_sigterm(sentiment_export, port):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", "serve", f"sst={sentiment_export[0].parent}",
         "--port", str(port), "--batch-timeout-ms", "2000"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}/v1/models/sst"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "server did not start"
            try:
                if httpx.get(url, timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        body = json.dumps({"instances": ["a gorgeous , witty film"]})
        expected = seqtasks.load(sentiment_export[0]).predict(["a gorgeous , witty film"])
        first = httpx.post(url + ":predict", content=body, timeout=30).json()["predictions"][0]
        assert first["label"] == expected[0]["label"]

        in_flight = {}
        sender = threading.Thread(target=lambda: in_flight.update(
            response=httpx.post(url + ":predict", content=body, timeout=30)))
        sender.start()
        time.sleep(0.5)  # the request now waits in a 2 s batch
        process.send_signal(signal.SIGTERM)
        sender.join(timeout=30)
        assert in_flight["response"].status_code == 200
        assert in_flight["response"].json()["predictions"][0] == first
        _, stderr = process.communicate(timeout=60)
        # uvicorn re-raises the signal once shut down, so the exit status says "terminated"
        assert process.returncode in (0, -signal.SIGTERM), stderr
        assert "serving model 'sst' (version 1)" in stderr and "Finished server process" in stderr
    finally:
        if process.poll() is None:
            process.kill()
