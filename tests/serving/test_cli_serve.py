"""``seqtasks serve`` as users run it: a real process on 127.0.0.1, graceful shutdown on SIGTERM."""

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

import seqtasks
from helpers import ROOT, run_cli, wait_until_answering


def serve_in_process(capsys, *args) -> tuple[int, str]:
    """``seqtasks serve ARGS`` through the CLI's ``main`` in this process (a refused command never
    starts serving): its exit status and stderr. One test below runs the real process."""
    from pipelines.cli.main import main

    try:
        status = main(["serve", *map(str, args)])
    except SystemExit as exit_:  # argparse's refusals
        status = exit_.code
    return status, capsys.readouterr().err


def test_serve_defaults_to_localhost():
    from pipelines.cli.args import build_parser

    args = build_parser().parse_args(["serve", "some/dir"])
    assert (args.host, args.port, args.max_batch_size) == ("127.0.0.1", 8501, 128)


def test_serve_takes_tf_servings_thread_flags_to_every_session(half_plus_two):
    from pipelines.cli.args import build_parser
    from seqtasks.serving.manager import ModelManager, specs_from_arguments
    from seqtasks.serving.models import SessionThreads

    args = build_parser().parse_args(["serve", "some/dir", "--tensorflow_intra_op_parallelism",
                                      "0", "--tensorflow-inter-op-parallelism", "3"])
    assert (args.intra_op, args.inter_op) == (0, 3)
    # seqtasks serve: one thread per op (batches side by side); 0 (TF Serving's) when asked
    assert build_parser().parse_args(["serve", "d"]).intra_op == 1
    manager = ModelManager(specs_from_arguments([f"h={half_plus_two}"]),
                           threads=SessionThreads(1, 3))
    manager.load_initial()
    (version,) = manager.models["h"].loaded.values()
    config = version.session._config  # what the Session was created with
    assert (config.intra_op_parallelism_threads, config.inter_op_parallelism_threads) == (1, 3)
    version.close()


def test_serve_rejects_negative_thread_counts(tmp_path, capsys):
    status, err = serve_in_process(capsys, tmp_path, "--tensorflow_intra_op_parallelism", "-1")
    assert status == 2 and "--tensorflow_*_parallelism" in err


def test_serve_rejects_a_directory_that_is_not_an_export(tmp_path):
    result = run_cli("serve", tmp_path, "--port", "1", check=False)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {tmp_path}: no SavedModel versions (expected {tmp_path}/<version>/"
        "saved_model.pb, e.g. the --out directory of 'seqtasks train')"]


def test_serve_rejects_a_bad_model_config_file(tmp_path, capsys):
    config = tmp_path / "models.config"
    config.write_text('model_config_list {\n  config { name: "a" base_pth: "/" }\n}\n')
    status, err = serve_in_process(capsys, "--model-config-file", config, "--port", "1")
    assert status == 2
    assert err.startswith(f"error: {config}:2: column 22: ") and "base_pth" in err


@pytest.mark.slow
def test_serve_answers_then_finishes_in_flight_requests_on_sigterm(sentiment_export, port,
                                                                   half_plus_two, new_port,
                                                                   tmp_path):
    """Also the wiring of --model-config-file, --grpc-port, --demo and a thread flag."""
    from tensorflow_serving.apis import get_model_status_pb2, model_service_pb2_grpc

    config = tmp_path / "models.config"
    config.write_text(f'model_config_list {{ config {{ name: "default" base_path: '
                      f'"{half_plus_two}" }} }}')
    grpc_port = new_port()
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", "serve", f"sst={sentiment_export[0].parent}",
         "--port", str(port), "--batch-timeout-ms", "2000", "--model-config-file", str(config),
         "--grpc-port", str(grpc_port), "--demo", "--tensorflow_intra_op_parallelism", "1"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}/v1/models/sst"
    try:
        wait_until_answering(process, url)
        base = f"http://127.0.0.1:{port}"
        assert httpx.post(base + "/v1/models/default:regress", timeout=30, content=json.dumps(
            {"signature_name": "regress_x_to_y", "examples": [{"x": 2.0}]})).json() == \
            {"results": [3.0]}
        assert "seqtasks serve" in httpx.get(base + "/", timeout=30).text
        with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
            request = get_model_status_pb2.GetModelStatusRequest()
            request.model_spec.name = "default"
            status = model_service_pb2_grpc.ModelServiceStub(channel).GetModelStatus(request, 30)
            assert [s.version for s in status.model_version_status] == [123]

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


def test_serve_takes_the_request_limit_and_deadline_flags():
    from pipelines.cli.args import build_parser

    args = build_parser().parse_args(["serve", "d", "--rest_api_timeout_in_ms", "250",
                                      "--max-num-samples", "3", "--max-decode-length", "40",
                                      "--max-beam-size", "2", "--max-tensor-elements", "9",
                                      "--max-string-bytes", "7", "--shutdown-grace-s", "1"])
    assert (args.timeout_ms, args.max_num_samples, args.max_decode_length, args.max_beam_size,
            args.max_tensor_elements, args.max_string_bytes, args.shutdown_grace_s) == \
        (250, 3, 40, 2, 9, 7, 1.0)
    defaults = build_parser().parse_args(["serve", "d"])
    assert (defaults.timeout_ms, defaults.max_num_samples, defaults.shutdown_grace_s) == \
        (30000, 64, 10.0)


def test_serve_rejects_a_limit_below_one(tmp_path, capsys):
    status, err = serve_in_process(capsys, tmp_path, "--max-num-samples", "0")
    assert status == 2 and "--max-num-samples must be >= 1" in err


@pytest.mark.parametrize("count", ["0", "65"])
def test_serve_rejects_a_grpc_listener_count_out_of_range(tmp_path, capsys, count):
    status, err = serve_in_process(capsys, tmp_path, "--grpc-listeners", count)
    assert status == 2 and f"--grpc-listeners must be between 1 and 64, got {count}" in err


@pytest.mark.parametrize("command", ["serve", "model_server"])
def test_a_taken_grpc_port_is_one_line_before_any_model_loads(half_plus_two, port, capsys,
                                                              command):
    import socket

    from seqtasks.serving import model_server

    with socket.socket() as holder:
        holder.bind(("0.0.0.0" if command == "model_server" else "127.0.0.1", port))
        holder.listen()
        if command == "serve":
            status, err = serve_in_process(capsys, f"m={half_plus_two}", "--port", "0",
                                           "--grpc-port", port)
        else:
            with pytest.raises(SystemExit) as exited:
                model_server.main([f"--port={port}", "--model_name=m",
                                   f"--model_base_path={half_plus_two}"])
            status, err = exited.value.code, capsys.readouterr().err
    assert status == 3
    assert "error: cannot bind the gRPC port" in err and f":{port} (Address already in use)" in err
    assert "Traceback" not in err and "loaded version" not in err
