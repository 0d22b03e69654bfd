"""The version poller against base paths that are not tidy: stray entries of every kind are
skipped and explained in the status (REST and gRPC) and logged once, never blocking another
version or model; a version copied in pieces is loaded once complete; deleting the newest
version never leaves a model with no version while a loadable one is on disk; model names the
REST path cannot carry are refused where they are written."""

import logging
import os
import shutil

import httpx2 as httpx
import pytest

from seqtasks.errors import DataError, ModelError
from seqtasks.serving.app import ServerConfig, create_app
from seqtasks.serving.config_file import read_model_config
from seqtasks.serving.manager import ModelManager, specs_from_arguments
from seqtasks.serving.retry import LoadRetry
from tf_serving_models import export_tf2_half_plus_two

STRAY = {  # entry name -> what the status says about it
    "²": "not ASCII 0-9",
    "٣": "not ASCII 0-9",
    "-1": "not a version number",
    "1e3": "not a version number",
    "99999999999999999999": "beyond the int64 limit",
    ".2.tmp": "a hidden entry",
    "5": "a file, not a folder",
    "7": "a symbolic link to nothing",
    "8": "no saved_model.pb",
    "01": "names version 1 too",
}


@pytest.fixture(scope="module")
def good_version(tmp_path_factory):
    """One complete version folder (y = 0.5 x + 1), copied where a test needs it."""
    return export_tf2_half_plus_two(tmp_path_factory.mktemp("good") / "1", b=1.0)


def config_for(tmp_path, **bases):
    path = tmp_path / "models.config"
    path.write_text("model_config_list {\n" + "".join(
        f'  config {{ name: "{name}" base_path: "{base}" }}\n' for name, base in bases.items())
        + "}\n")
    return path


def messy_base(root, good_version):
    """A base path with version 1 and one stray entry of every kind in STRAY."""
    shutil.copytree(good_version, root / "1")
    for name in ("²", "٣", "-1", "1e3", "99999999999999999999", ".2.tmp", "01"):
        shutil.copytree(good_version, root / name)
    (root / "5").write_text("not a folder")
    (root / "7").symlink_to(root / "missing")
    (root / "8" / "variables").mkdir(parents=True)
    (root / "logs").mkdir()  # a companion of versions, not a stray: not reported
    return root


def test_stray_entries_are_skipped_shown_in_the_status_and_logged_once(
        tmp_path, good_version, serve_app, port, caplog):
    import grpc
    from tensorflow_serving.apis import get_model_status_pb2, model_service_pb2_grpc

    from seqtasks.serving.served import NO_VERSION

    messy = messy_base(tmp_path / "messy", good_version)
    shutil.copytree(good_version, tmp_path / "clean" / "3")
    manager = ModelManager(read_model_config(config_for(tmp_path, messy=messy,
                                                        clean=tmp_path / "clean")),
                           poll_seconds=0.05)
    with caplog.at_level(logging.WARNING, logger="seqtasks.serving"):
        manager.load_initial()
        manager.sync()
        manager.sync()
    assert sorted(manager.models["messy"].loaded) == [1]
    assert sorted(manager.models["clean"].loaded) == [3]
    for name, reason in STRAY.items():
        logged = [r.getMessage() for r in caplog.records if f"/{name}: skipped" in r.getMessage()]
        assert len(logged) == 1 and reason in logged[0], (name, logged)
    assert not any("logs" in r.getMessage() for r in caplog.records)

    grpc_port = port
    with serve_app(create_app(manager, ServerConfig(batch_timeout_ms=1),
                              grpc_port=grpc_port)) as url:
        rest = httpx.get(url + "/v1/models/messy").json()["model_version_status"]
        assert httpx.post(url + "/v1/models/messy:predict",
                          content='{"instances": [2.0]}').json() == {"predictions": [2.0]}
        with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
            request = get_model_status_pb2.GetModelStatusRequest()
            request.model_spec.name = "messy"
            answer = model_service_pb2_grpc.ModelServiceStub(channel).GetModelStatus(
                request, timeout=30)
    assert rest[0] == {"version": "1", "state": "AVAILABLE",
                       "status": {"error_code": "OK", "error_message": ""}}
    messages = [entry["status"]["error_message"] for entry in rest[1:]]
    for name, reason in STRAY.items():
        assert any(f"/{name}: skipped: " in m and reason in m for m in messages), name
    by_name = {m.split(": skipped")[0].rsplit("/", 1)[1]: e["version"]
               for m, e in zip(messages, rest[1:])}
    assert by_name["²"] == by_name["-1"] == str(NO_VERSION)
    assert by_name["8"] == "8" and by_name["01"] == "1"
    assert all(entry["state"] == "END" for entry in rest[1:])
    grpc_messages = [s.status.error_message for s in answer.model_version_status]
    assert grpc_messages == [""] + messages


def test_a_version_that_is_a_link_to_a_release_folder_is_served(tmp_path, good_version):
    """TF Serving follows a version that is a symbolic link: deployments keep releases elsewhere
    and link version numbers to them."""
    shutil.copytree(good_version, tmp_path / "releases" / "a")
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "4").symlink_to(tmp_path / "releases" / "a")
    manager = ModelManager(read_model_config(config_for(tmp_path, linked=tmp_path / "model")),
                           poll_seconds=0.05)
    manager.load_initial()
    assert sorted(manager.models["linked"].loaded) == [4]


def test_a_folder_vanishing_mid_scan_is_skipped(tmp_path, good_version, monkeypatch):
    from seqtasks.export import layout

    shutil.copytree(good_version, tmp_path / "m" / "1")
    shutil.copytree(good_version, tmp_path / "m" / "2")
    def vanished(real):
        def look(path, *args, **kwargs):
            if str(path).endswith("/2"):  # listed, then deleted before it was looked at
                raise FileNotFoundError(2, "No such file or directory", str(path))
            return real(path, *args, **kwargs)
        return look

    monkeypatch.setattr(layout.os, "lstat", vanished(os.lstat))
    monkeypatch.setattr(layout.os, "stat", vanished(os.stat))
    manager = ModelManager(specs_from_arguments([f"m={tmp_path / 'm'}"]))
    manager.load_initial()
    model = manager.models["m"]
    assert sorted(model.loaded) == [1]
    assert "vanished while the base path was scanned" in str(model.status())


def test_a_version_copied_in_pieces_is_loaded_once_complete(tmp_path, good_version):
    base = tmp_path / "m"
    shutil.copytree(good_version, base / "1")
    staging = export_tf2_half_plus_two(tmp_path / "staging", b=2.0)
    manager = ModelManager(read_model_config(config_for(tmp_path, m=base)),
                           retry=LoadRetry(clock=lambda: 0.0))  # no back-off retries: changes only
    manager.load_initial()
    model = manager.models["m"]

    (base / "2").mkdir()  # a plain copy, file by file: first the folder alone
    manager.sync()
    assert "no saved_model.pb" in str(model.status())
    shutil.copy(staging / "saved_model.pb", base / "2")  # then the graph, without variables
    manager.sync()
    manager.sync()
    assert sorted(model.loaded) == [1]
    failed = model.status()["model_version_status"][1]
    assert failed["version"] == "2" and failed["state"] == "END"
    assert "cannot load the SavedModel" in failed["status"]["error_message"]
    shutil.copytree(staging / "variables", base / "2" / "variables")  # completed
    manager.sync()
    assert sorted(model.loaded) == [2]
    assert model.status()["model_version_status"] == [
        {"version": "2", "state": "AVAILABLE", "status": {"error_code": "OK",
                                                          "error_message": ""}}]
    with model.use() as loaded:
        assert loaded.signature(None)({"x": [2.0]})["y"].tolist() == [3.0]


def test_deleting_the_newest_falls_back_past_an_unloadable_version(tmp_path, good_version):
    base = tmp_path / "m"
    shutil.copytree(good_version, base / "1")
    (base / "2").mkdir()
    (base / "2" / "saved_model.pb").write_bytes(b"corrupt")
    export_tf2_half_plus_two(base / "3", b=3.0)
    manager = ModelManager(read_model_config(config_for(tmp_path, m=base)))
    manager.load_initial()
    model = manager.models["m"]
    assert sorted(model.loaded) == [3]
    shutil.rmtree(base / "3")
    manager.sync()
    assert sorted(model.loaded) == [1]
    status = model.status()["model_version_status"]
    assert [(s["version"], s["state"]) for s in status] == [("1", "AVAILABLE"), ("2", "END")]
    assert "cannot load the SavedModel" in status[1]["status"]["error_message"]
    with model.use() as loaded:
        assert loaded.signature(None)({"x": [2.0]})["y"].tolist() == [2.0]


def test_the_newest_version_failing_at_start_serves_the_next_loadable_one(tmp_path,
                                                                          good_version):
    base = tmp_path / "m"
    shutil.copytree(good_version, base / "4")
    (base / "9").mkdir()
    (base / "9" / "saved_model.pb").write_bytes(b"corrupt")
    models = ModelManager(specs_from_arguments([f"m={base}"]))
    models.load_initial()
    assert sorted(models.models["m"].loaded) == [4]
    assert "version 9 failed to load" in str(pytest.raises(
        LookupError, models.models["m"].resolve, 9).value)


@pytest.mark.parametrize("name", ["a/b", "a b", "a:b", "..", ".", "-x", "a\\nb", "a\\tb", "é",
                                  "a?b", "a%2Fb", "x" * 256])
def test_a_model_name_the_rest_path_cannot_carry_is_refused_with_file_and_line(tmp_path, name):
    path = tmp_path / "models.config"
    path.write_text('model_config_list {\n  config { name: "ok" base_path: "/" }\n'
                    f'  config {{\n    name: "{name}"\n    base_path: "/"\n  }}\n}}\n')
    with pytest.raises(DataError) as raised:
        read_model_config(path)
    assert str(raised.value).startswith(f"{path}:4: model name "), str(raised.value)
    assert "REST path" in str(raised.value) and "\n" not in str(raised.value)


@pytest.mark.parametrize("argument", ["a/b={base}", "a b={base}", "={base}", "..={base}"])
def test_a_model_name_argument_the_rest_path_cannot_carry_is_refused(tmp_path, good_version,
                                                                     argument):
    shutil.copytree(good_version, tmp_path / "base" / "1")
    argument = argument.format(base=tmp_path / "base")
    with pytest.raises(ModelError, match="a model name must be non-empty") as raised:
        specs_from_arguments([argument])
    assert f"'{argument}'" in str(raised.value)


def test_a_directory_name_that_cannot_be_a_model_name_asks_for_name_equals_dir(tmp_path,
                                                                              good_version):
    shutil.copytree(good_version, tmp_path / "my model" / "1")
    with pytest.raises(ModelError, match="pass NAME="):
        specs_from_arguments([str(tmp_path / "my model")])
    assert specs_from_arguments([f"mine={tmp_path / 'my model'}"])[0].name == "mine"


def test_serve_on_a_base_path_of_strange_entries_is_one_line_not_a_traceback(tmp_path,
                                                                              good_version):
    from helpers import run_cli

    for name in ("²", "-1", "99999999999999999999"):
        shutil.copytree(good_version, tmp_path / "m" / name)
    result = run_cli("serve", f"m={tmp_path / 'm'}", "--port", "1", check=False)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "no SavedModel versions" in lines[0], lines
    assert "/²: skipped: its digits are not ASCII 0-9" in lines[0]


def test_unreadable_folders_are_skipped_and_an_unreadable_base_path_keeps_serving(
        tmp_path, good_version, monkeypatch):
    from seqtasks.export import layout

    base = tmp_path / "m"
    shutil.copytree(good_version, base / "1")
    shutil.copytree(good_version, base / "2")
    real_listdir, real_scandir = os.listdir, os.scandir

    def listdir(path):  # as for a folder without read permission (tests may run as root)
        if str(path).endswith("/2"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_listdir(path)

    monkeypatch.setattr(layout.os, "listdir", listdir)
    manager = ModelManager(read_model_config(config_for(tmp_path, m=base)))
    manager.load_initial()
    model = manager.models["m"]
    assert sorted(model.loaded) == [1]
    assert "/2: skipped: cannot be read (Permission denied)" in str(model.status())

    def scandir(path):
        if str(path) == str(base):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(layout.os, "scandir", scandir)
    manager.sync()
    assert sorted(model.loaded) == [1]  # nothing known about the disk: keep serving
    status = model.status()["model_version_status"]
    assert status[1]["version"] == "-1" and status[1]["status"]["error_code"] == "UNAVAILABLE"
    assert "cannot list the base path (Permission denied)" in status[1]["status"]["error_message"]
    monkeypatch.setattr(layout.os, "scandir", real_scandir)
    monkeypatch.setattr(layout.os, "listdir", real_listdir)
    manager.sync()
    assert sorted(model.loaded) == [2]
    assert [s["state"] for s in model.status()["model_version_status"]] == ["AVAILABLE"]
