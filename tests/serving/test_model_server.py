"""seqtasks-model-server: tensorflow_model_server's command line, operations files, warmup,
live config reload and TF Serving's metric names."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

import httpx2 as httpx
import pytest

from helpers import wait_until_answering
from seqtasks.errors import ConfigError, DataError
from seqtasks.serving.model_server_flags import NOT_IMPLEMENTED, ModelServerFlags, parse_flags
from seqtasks.serving.operation_files import read_batching_parameters, read_monitoring_config

BASE = ["--model_base_path=/models/m"]


def test_flags_take_tf_servings_forms_and_defaults():
    assert parse_flags(BASE) == ModelServerFlags(model_base_path="/models/m")
    flags = parse_flags(["--port=9000", "--rest_api_port", "9001", "--model_name=m", *BASE,
                         "--enable_batching", "--enable_model_warmup=false",
                         "-tensorflow_intra_op_parallelism=1"])
    assert (flags.port, flags.rest_api_port, flags.model_name) == (9000, 9001, "m")
    assert flags.enable_batching and not flags.enable_model_warmup
    assert flags.tensorflow_intra_op_parallelism == 1
    assert parse_flags([*BASE, "--enable_batching=0"]).enable_batching is False


@pytest.mark.parametrize("argv, named", [
    (["--grpc_socket_path=/tmp/s"], "--grpc_socket_path"),
    (["--rest_api_num_threads", "4"], "--rest_api_num_threads"),
    (["--model_base_pth=/models/m"], "--model_base_pth"),
    (["--portt=1"], "--portt"),
    (["--port=http"], "--port=http"),
    (["--enable_batching=yes"], "--enable_batching=yes"),
    (["--rest_api_port=8500"], "--rest_api_port=8500"),
    (["--batching_parameters_file=/b"], "--batching_parameters_file"),
    (["/models/m"], "/models/m"),
    (["--file_system_poll_wait_seconds=-1"], "--file_system_poll_wait_seconds"),
])
def test_an_unknown_unimplemented_or_bad_flag_fails_naming_it(argv, named):
    with pytest.raises(ConfigError, match=named):
        parse_flags([*BASE, *argv])


def test_every_unimplemented_flag_is_refused_by_name():
    for name in NOT_IMPLEMENTED:
        with pytest.raises(ConfigError, match=f"--{name}: a tensorflow_model_server flag"):
            parse_flags([*BASE, f"--{name}=1"])


def test_the_command_fails_with_the_flags_name(tmp_path):
    result = subprocess.run([sys.executable, "-m", "seqtasks.serving.model_server", *BASE,
                             "--ssl_config_file=/etc/ssl.txt"], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "--ssl_config_file" in result.stderr


def test_batching_parameters_file(tmp_path):
    path = tmp_path / "batching.txt"
    path.write_text("max_batch_size { value: 32 }\nbatch_timeout_micros { value: 500 }\n"
                    "num_batch_threads { value: 2 }\nmax_enqueued_batches { value: 4 }\n"
                    "allowed_batch_sizes: 8\nallowed_batch_sizes: 32\n")
    parameters = read_batching_parameters(path)
    assert (parameters.max_batch_size, parameters.batch_timeout_micros,
            parameters.num_batch_threads, parameters.max_enqueued_batches,
            parameters.allowed_batch_sizes) == (32, 500, 2, 4, (8, 32))


@pytest.mark.parametrize("text, line, problem", [
    ("max_batch_size { value: 32 }\nbatch_timeout: 5\n", 2, "no field named"),
    ("max_batch_size { value: 0 }\n", 1, "max_batch_size must be >= 1"),
    ("max_batch_size { value: 16 }\n\nallowed_batch_sizes: 8\n", 3, "must equal max_batch"),
    ("max_batch_size { value: 10000000 }\n", 1, "over this server's limit"),
    ("max_batch_size { value: 8 }\npad_variable_length_inputs: true\n", 2, "not supported"),
])
def test_batching_parameters_errors_at_file_line(tmp_path, text, line, problem):
    path = tmp_path / "batching.txt"
    path.write_text(text)
    with pytest.raises(DataError, match=problem) as error:
        read_batching_parameters(path)
    assert error.value.line == line and str(error.value).startswith(f"{path}:{line}:")


def test_monitoring_config_file(tmp_path):
    path = tmp_path / "monitoring.txt"
    path.write_text('prometheus_config {\n  enable: true,\n  path: "/metrics"\n}\n')
    config = read_monitoring_config(path)
    assert (config.prometheus_enable, config.prometheus_path) == (True, "/metrics")
    path.write_text("prometheus_config {\n  enable: yes\n}\n")
    with pytest.raises(DataError, match=r"monitoring.txt:2: column \d+: .*true") as error:
        read_monitoring_config(path)
    assert error.value.line == 2
    path.write_text('prometheus_config {\n  enable: true\n  path: "metrics"\n}\n')
    with pytest.raises(DataError, match="absolute URL path") as error:
        read_monitoring_config(path)
    assert error.value.line == 3


# --- the server started as TF Serving's Docker image starts its binary -----------------------

@pytest.fixture(scope="module")
def docker_style_server(half_plus_three, tmp_path_factory, new_port):
    """``--port=G --rest_api_port=R --model_name=half_plus_three --model_base_path=BASE`` plus
    the flags a deployment appends (batching, monitoring), in a fresh process."""
    folder = tmp_path_factory.mktemp("flags")
    (folder / "monitoring.txt").write_text("prometheus_config { enable: true }\n")
    (folder / "batching.txt").write_text("max_batch_size { value: 16 }\n"
                                         "batch_timeout_micros { value: 1000 }\n")
    grpc_port, rest_port = new_port(), new_port()
    command = [sys.executable, "-m", "seqtasks.serving.model_server", f"--port={grpc_port}",
               f"--rest_api_port={rest_port}", "--model_name=half_plus_three",
               f"--model_base_path={half_plus_three}",
               f"--monitoring_config_file={folder / 'monitoring.txt'}", "--enable_batching",
               f"--batching_parameters_file={folder / 'batching.txt'}"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    url = f"http://127.0.0.1:{rest_port}"
    wait_until_answering(process, url + "/v1/models/half_plus_three")
    try:
        yield url, grpc_port
    finally:
        process.terminate()
        process.wait(timeout=60)


def test_docker_style_command_serves_rest_and_grpc(docker_style_server):
    import grpc
    import tensorflow as tf
    from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

    url, grpc_port = docker_style_server
    response = httpx.post(url + "/v1/models/half_plus_three:predict",
                          content=json.dumps({"instances": [2.0]}), timeout=30)
    assert response.json() == {"predictions": [4.0]}
    with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        request = predict_pb2.PredictRequest()
        request.model_spec.name = "half_plus_three"
        request.inputs["x"].CopyFrom(tf.make_tensor_proto([2.0, 4.0], dtype=tf.float32))
        answer = stub.Predict(request, timeout=30)
    assert tf.make_ndarray(answer.outputs["y"]).tolist() == [4.0, 5.0]
    assert answer.model_spec.version.value == 123


def test_metrics_under_tf_servings_names(docker_style_server):
    from prometheus_client.parser import text_string_to_metric_families

    url, _ = docker_style_server
    for _ in range(3):
        httpx.post(url + "/v1/models/half_plus_three:predict",
                   content=json.dumps({"instances": [1.0]}), timeout=30)
    httpx.post(url + "/v1/models/half_plus_three:predict", content=b"{", timeout=30)
    families = {family.name: family for family in
                text_string_to_metric_families(httpx.get(
                    url + "/monitoring/prometheus/metrics", timeout=30).text)}
    counts = {sample.labels["status"]: sample.value
              for sample in families[":tensorflow:serving:request_count"].samples}
    assert counts["OK"] >= 3 and counts["INVALID_ARGUMENT"] == 1
    latency = families[":tensorflow:serving:request_latency"]
    assert latency.type == "histogram"
    count = [s for s in latency.samples if s.name.endswith("_count")
             and s.labels == {"model_name": "half_plus_three", "API": "predict",
                              "entrypoint": "REST"}]
    assert count and count[0].value >= 3
    assert ":tensorflow:serving:runtime_latency" in families
    assert "seqtasks_serving_requests" in families  # today's names stay beside them


def test_metrics_are_off_without_a_monitoring_config(half_plus_three):
    from starlette.testclient import TestClient

    from seqtasks.serving.app import create_app
    from seqtasks.serving.model_server import server_config
    from seqtasks.serving.models import load_models

    flags = parse_flags([f"--model_base_path={half_plus_three}"])
    app = create_app(load_models([f"default={half_plus_three}"]), server_config(flags),
                     prometheus_path=None)
    with TestClient(app) as client:
        assert client.get("/monitoring/prometheus/metrics").status_code == 404


# --- warmup ------------------------------------------------------------------------------------

def _write_warmup(version_dir, values):
    import tensorflow as tf
    from tensorflow_serving.apis import predict_pb2, prediction_log_pb2

    folder = version_dir / "assets.extra"
    folder.mkdir(exist_ok=True)
    with tf.io.TFRecordWriter(str(folder / "tf_serving_warmup_requests")) as writer:
        for value in values:
            request = predict_pb2.PredictRequest()
            request.model_spec.name = "m"
            request.inputs["x"].CopyFrom(tf.make_tensor_proto(value, dtype=tf.float32))
            log = prediction_log_pb2.PredictionLog(
                predict_log=prediction_log_pb2.PredictLog(request=request))
            writer.write(log.SerializeToString())


def test_warmup_records_are_replayed_before_the_version_is_available(tmp_path):
    from tf_serving_models import export_half_plus_three

    from seqtasks.serving import warmup
    from seqtasks.serving.manager import ModelManager, ModelSpec

    export_half_plus_three(tmp_path / "m" / "1")
    _write_warmup(tmp_path / "m" / "1", [[1.0], [2.0, 3.0], 4.0])
    replayed, original = [], warmup.replay_warmup

    def counting(loaded, *args):
        assert not manager.models["m"].loaded  # not served yet while replaying
        replayed.append(original(loaded, *args))
        return replayed[-1]

    manager = ModelManager([ModelSpec("m", tmp_path / "m")])
    warmup_calls = []
    manager.on_warmup = lambda *args: warmup_calls.append(args)
    import seqtasks.serving.manager as manager_module
    manager_module.replay_warmup, saved = counting, manager_module.replay_warmup
    try:
        manager.load_initial()
    finally:
        manager_module.replay_warmup = saved
    assert replayed == [3] and manager.models["m"].loaded[1].warmup_records == 3
    assert manager.models["m"].status()["model_version_status"][0]["state"] == "AVAILABLE"
    assert warmup_calls[0][1:3] == ("OK", 3)
    off = ModelManager([ModelSpec("m", tmp_path / "m")], warmup=False)
    off.load_initial()
    assert off.models["m"].loaded[1].warmup_records == 0


def test_a_failing_warmup_fails_the_load(tmp_path):
    import tensorflow as tf
    from tf_serving_models import export_half_plus_three

    from seqtasks.errors import ModelError
    from seqtasks.serving.manager import ModelManager, ModelSpec

    export_half_plus_three(tmp_path / "m" / "1")
    _write_warmup(tmp_path / "m" / "1", [1.0])
    with tf.io.TFRecordWriter(str(tmp_path / "m" / "1" / "assets.extra" /
                                  "tf_serving_warmup_requests")) as writer:
        writer.write(b"not a PredictionLog")
    with pytest.raises(ModelError, match="warmup record 0"):
        ModelManager([ModelSpec("m", tmp_path / "m")]).load_initial()


# --- the model config file re-read live --------------------------------------------------------

def _config(models):
    return "model_config_list {\n" + "".join(
        f'  config {{ name: "{name}" base_path: "{path}" model_platform: "tensorflow" }}\n'
        for name, path in models) + "}\n"


def test_config_file_changes_are_applied_live_with_no_failed_request(
        half_plus_two, half_plus_three, tmp_path, serve_app):
    from seqtasks.serving.app import ServerConfig, create_app
    from seqtasks.serving.config_file import read_model_config
    from seqtasks.serving.config_watch import ConfigFileWatcher
    from seqtasks.serving.manager import ModelManager

    path = tmp_path / "models.config"
    path.write_text(_config([("two", half_plus_two)]))
    manager = ModelManager(read_model_config(path))
    manager.load_initial()
    watcher = ConfigFileWatcher(manager, path, 0.1)
    failures, answered, stop = [], [0], threading.Event()

    def client(url):
        with httpx.Client(base_url=url, timeout=30) as http:
            while not stop.is_set():
                response = http.post("/v1/models/two:predict",
                                     content=json.dumps({"instances": [2.0]}))
                if response.json() != {"predictions": [3.0]}:
                    failures.append(response.text)
                answered[0] += 1

    with serve_app(create_app(manager, ServerConfig(batch_timeout_ms=1))) as url:
        threads = [threading.Thread(target=client, args=(url,)) for _ in range(4)]
        for thread in threads:
            thread.start()
        watcher.start()
        try:
            path.write_text(_config([("two", half_plus_two), ("three", half_plus_three)]))
            deadline = time.monotonic() + 60
            while httpx.post(url + "/v1/models/three:predict", timeout=30,
                             content=json.dumps({"instances": [2.0]})).status_code != 200:
                assert time.monotonic() < deadline, "the new model never appeared"
                time.sleep(0.1)
            path.write_text("model_config_list { config { name: \"two\" ")  # broken: kept
            time.sleep(0.5)
            assert "two" in manager.models and "three" in manager.models
            path.write_text(_config([("two", half_plus_two)]))  # three removed
            while httpx.get(url + "/v1/models/three", timeout=30).status_code != 404:
                assert time.monotonic() < deadline, "the removed model is still served"
                time.sleep(0.1)
        finally:
            stop.set()
            for thread in threads:
                thread.join()
            watcher.stop()
    assert failures == [] and answered[0] > 20
