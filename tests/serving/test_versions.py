"""Models and versions as TF Serving handles them: the model config file (and its errors, by
file:line), version policies and labels, and live polling: a new version appearing and an old
one removed while requests run, with no failed request and no half-written version served."""

import shutil
import threading
import time

import httpx2 as httpx
import pytest

from seqtasks.errors import DataError, ModelError
from seqtasks.serving.app import ServerConfig, create_app
from seqtasks.serving.config_file import read_model_config
from seqtasks.serving.manager import ModelManager
from tf_serving_models import export_tf2_half_plus_two


@pytest.fixture(scope="module")
def three_versions(tmp_path_factory):
    """BASE/00000001..00000003, version v answering y = 0.5 x + v."""
    base = tmp_path_factory.mktemp("versions") / "half_plus"
    for version in (1, 2, 3):
        export_tf2_half_plus_two(base / f"{version:08d}", b=float(version))
    return base


def write_config(tmp_path, text):
    path = tmp_path / "models.config"
    path.write_text(text)
    return path


def test_config_file_policies_and_labels(three_versions, tmp_path):
    path = write_config(tmp_path, f"""
model_config_list {{
  config {{ name: "newest" base_path: "{three_versions}" model_platform: "tensorflow" }}
  config {{
    name: "two"
    base_path: "{three_versions}"
    model_version_policy {{ latest {{ num_versions: 2 }} }}
  }}
  config {{ name: "all" base_path: "{three_versions}" model_version_policy {{ all {{}} }} }}
  config {{
    name: "pinned"
    base_path: "{three_versions}"
    model_version_policy {{ specific {{ versions: 1 versions: 3 }} }}
    version_labels {{ key: "stable" value: 1 }}
    version_labels {{ key: "canary" value: 3 }}
  }}
}}
""")
    manager = ModelManager(read_model_config(path))
    manager.load_initial()
    assert {name: sorted(model.loaded) for name, model in manager.models.items()} == \
        {"newest": [3], "two": [2, 3], "all": [1, 2, 3], "pinned": [1, 3]}
    pinned = manager.models["pinned"]
    assert pinned.resolve(label="stable").version == 1
    assert pinned.resolve(label="canary").version == 3
    assert pinned.resolve().version == 3


@pytest.mark.parametrize("text, line, message", [
    ('model_config_list {\n  config {\n    name: "a"\n    bse_path: "/x"\n  }\n}', 4,
     'has no field named "bse_path"'),
    ('model_config_list {\n  config {\n    name: "a"\n', 3, 'column 11: Expected "}"'),
    ('model_config_list {\n  config { name: "a" base_path: "/nonexistent/dir" }\n}', 2,
     "base_path /nonexistent/dir is not a directory"),
    ('model_config_list {\n  config { name: "a" }\n}', 2, "model 'a' has no base_path"),
    ('model_config_list {\n  config { base_path: "/" }\n}', 2, "a config has no name"),
    ('model_config_list {\n  config { name: "a" base_path: "/" }\n'
     '  config { name: "b" base_path: "/" model_platform: "onnx" }\n}', 3,
     "model_platform 'onnx' is not supported"),
    ('model_config_list {\n  config { name: "a" base_path: "/" }\n'
     '  config { name: "a" base_path: "/" }\n}', 3, "two configs are named 'a'"),
    ('model_config_list {\n  config { name: "a" base_path: "/"\n'
     '    model_version_policy { latest { num_versions: 0 } } }\n}', 2, "must be >= 1"),
    ('model_config_list {\n}', 1, "model_config_list has no config"),
])
def test_config_file_errors_name_file_and_line(tmp_path, text, line, message):
    path = write_config(tmp_path, text)
    with pytest.raises(DataError) as raised:
        read_model_config(path)
    assert str(raised.value).startswith(f"{path}:{line}: "), str(raised.value)
    assert message in str(raised.value)


def test_a_base_path_without_versions_is_refused(tmp_path):
    from seqtasks.serving.manager import specs_from_arguments

    (tmp_path / "base" / "1").mkdir(parents=True)  # a version directory without saved_model.pb
    with pytest.raises(ModelError, match="no SavedModel versions"):
        specs_from_arguments([f"m={tmp_path / 'base'}"])


def test_new_version_in_and_old_out_while_requests_run(tmp_path, serve_app):
    base = tmp_path / "live"
    export_tf2_half_plus_two(base / "00000001", b=1.0)
    manager = ModelManager(
        read_model_config(write_config(tmp_path, f'model_config_list {{ config {{ name: "m" '
                                                 f'base_path: "{base}" }} }}')),
        poll_seconds=0.1)
    manager.load_initial()
    answers, failures, stop = [], [], threading.Event()

    def client(url):
        with httpx.Client(base_url=url, timeout=30) as http:
            while not stop.is_set():
                response = http.post("/v1/models/m:predict", content='{"instances": [2.0]}')
                if response.status_code == 200:
                    answers.append(response.json()["predictions"][0])
                else:
                    failures.append(response.text)

    def wait_for(condition, what):
        deadline = time.monotonic() + 60
        while not condition():
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            time.sleep(0.05)

    with serve_app(create_app(manager, ServerConfig(batch_timeout_ms=1))) as url:
        clients = [threading.Thread(target=client, args=(url,)) for _ in range(4)]
        for thread in clients:
            thread.start()
        try:
            wait_for(lambda: len(answers) > 20, "answers from version 1")
            # half-written: the directory exists, its saved_model.pb not yet
            export_tf2_half_plus_two(tmp_path / "staging", b=3.0)
            (base / "00000003" / "variables").mkdir(parents=True)
            shutil.copytree(tmp_path / "staging" / "variables", base / "00000003" / "variables",
                            dirs_exist_ok=True)
            # version 2 written elsewhere and renamed into place, as exporters should
            export_tf2_half_plus_two(tmp_path / "tmp-2", b=2.0)
            (tmp_path / "tmp-2").rename(base / "00000002")
            wait_for(lambda: answers[-1] == 3.0, "an answer from version 2")
            shutil.rmtree(base / "00000001")
            count = len(answers)
            wait_for(lambda: len(answers) > count + 50, "answers after version 1 went away")
            status = httpx.get(url + "/v1/models/m").json()["model_version_status"]
            assert [(s["version"], s["state"]) for s in status] == [("2", "AVAILABLE"),
                                                                    ("3", "END")]
            assert "00000003: skipped: no saved_model.pb" in status[1]["status"]["error_message"]
        finally:
            stop.set()
            for thread in clients:
                thread.join()
    assert failures == []
    assert set(answers) == {2.0, 3.0}  # version 1 (2.0) then 2 (3.0); never 3's 4.0
    switch = answers.index(3.0)
    assert 2.0 not in answers[switch + len(clients):]  # once 2 is in, 1 only for in-flight ones
    assert manager.retired == [] or all(v.idle for v in manager.retired)


def test_a_broken_version_is_reported_retried_on_a_back_off_and_loaded_once_fixed(
        tmp_path, monkeypatch):
    from seqtasks.serving.models import LoadedVersion
    from seqtasks.serving.retry import LoadRetry

    base = tmp_path / "m"
    export_tf2_half_plus_two(base / "1", b=1.0)
    now = [0.0]
    manager = ModelManager(read_model_config(write_config(
        tmp_path, f'model_config_list {{ config {{ name: "m" base_path: "{base}" }} }}')),
        retry=LoadRetry(clock=lambda: now[0], first=2.0, maximum=5.0))
    manager.load_initial()
    (base / "2").mkdir()
    (base / "2" / "saved_model.pb").write_bytes(b"not a SavedModel")
    loads = []
    real_load = LoadedVersion.load
    monkeypatch.setattr(LoadedVersion, "load", classmethod(
        lambda cls, path, version=None, threads=None:
        loads.append(version) or real_load(path, version, threads)))
    for step in range(16):  # 8 s in steps of 0.5 s: tries at 0, 2, 6 (back-off 2, 4, then 5)
        manager.sync()
        now[0] += 0.5
    model = manager.models["m"]
    assert loads == [2, 2, 2]
    assert sorted(model.loaded) == [1]  # the previous version keeps serving
    status = model.status()["model_version_status"]
    assert [(s["version"], s["state"]) for s in status] == [("1", "AVAILABLE"), ("2", "END")]
    assert "cannot load the SavedModel" in status[1]["status"]["error_message"]

    shutil.rmtree(base / "2")  # fixed: written elsewhere, renamed into place
    export_tf2_half_plus_two(tmp_path / "tmp-2", b=2.0)
    (tmp_path / "tmp-2").rename(base / "2")
    manager.sync()
    assert sorted(model.loaded) == [2] and model.failed == {}
    assert [s["state"] for s in model.status()["model_version_status"]] == ["AVAILABLE"]
    assert [v.version for v in manager.retired] in ([], [1])
