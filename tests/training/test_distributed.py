"""Multi-worker training: TF_CONFIG handling, and two worker processes on 127.0.0.1 training one
model with MultiWorkerMirroredStrategy through ``seqtasks train``."""

import json
import os
import socket
import subprocess
import sys

import pytest

import seqtasks
from helpers import DATA, ROOT
from seqtasks.training import distributed
from seqtasks.errors import ConfigError

TRAIN, VALID = DATA / "sentiment" / "train.tsv", DATA / "sentiment" / "valid.tsv"


def cluster(workers: int, task: str = "worker", index: int = 0, chief: bool = False) -> str:
    spec = {"worker": [f"127.0.0.1:{2000 + i}" for i in range(workers)]}
    if chief:
        spec["chief"] = ["127.0.0.1:1999"]
    return json.dumps({"cluster": spec, "task": {"type": task, "index": index}})


@pytest.mark.parametrize("tf_config, multi, chief", [
    (None, False, True),
    (cluster(1), False, True),
    (cluster(2, index=0), True, True),
    (cluster(2, index=1), True, False),
    (cluster(1, chief=True, task="chief"), True, True),
    (cluster(1, chief=True, index=0), True, False),
])
def test_tf_config_decides_who_is_chief(monkeypatch, tf_config, multi, chief):
    if tf_config is None:
        monkeypatch.delenv("TF_CONFIG", raising=False)
    else:
        monkeypatch.setenv("TF_CONFIG", tf_config)
    assert distributed.is_multi_worker() is multi and distributed.is_chief() is chief


def test_bad_tf_config_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("TF_CONFIG", "{cluster: 1}")
    with pytest.raises(ConfigError, match="TF_CONFIG is not valid JSON"):
        distributed.is_multi_worker()
    monkeypatch.setenv("TF_CONFIG", "[]")
    with pytest.raises(ConfigError, match="TF_CONFIG must look like"):
        distributed.is_chief()
    monkeypatch.delenv("TF_CONFIG")
    assert distributed.join_cluster(tmp_path) == tmp_path


def test_a_loss_owned_by_a_layer_is_rebound_to_the_copy():
    import keras

    from seqtasks.layers.crf import CRF

    features = keras.Input((None, 4))
    crf = CRF(3, name="crf")
    model = keras.Model(features, crf(features))
    copy = keras.models.clone_model(model)
    rebound = distributed._rebind_loss({"tags": crf.loss, "other": "mse"}, model, copy)
    assert rebound["tags"].__self__ is copy.get_layer("crf") and rebound["other"] == "mse"


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def worker_env(spec: dict, index: int) -> dict:
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT),
            "TF_CONFIG": json.dumps({"cluster": spec, "task": {"type": "worker", "index": index}})}


TASKS = {
    "sentiment": (TRAIN, VALID, ["embedding_dim=8", "units=8", "batch_size=16"],
                  {"loss", "val_loss", "val_accuracy"}),
    "ner": (DATA / "ner" / "train.txt", DATA / "ner" / "valid.txt",
            ["embedding_dim=8", "units=8", "char_embedding_dim=4", "char_units=4", "batch_size=8"],
            {"loss", "val_loss", "val_entity_f1"}),
}


@pytest.mark.slow
@pytest.mark.parametrize("task", TASKS)
def test_two_workers_on_localhost_train_one_model(tmp_path, task):
    train, valid, settings, logged = TASKS[task]
    out = tmp_path / "model"
    spec = {"worker": [f"127.0.0.1:{port}" for port in free_ports(2)]}
    args = ["train", task, "--train", train, "--valid", valid, "--out", out, "--quiet",
            "--set", *settings, "epochs=2", "seed=3"]
    workers = [subprocess.Popen([sys.executable, "-m", "pipelines.cli", *map(str, args)],
                                env=worker_env(spec, index), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for index in range(2)]
    results = [worker.communicate(timeout=400) for worker in workers]
    for worker, (stdout, stderr) in zip(workers, results):
        assert worker.returncode == 0, stderr[-3000:]
    assert f"exported {task} model to {out / '1'}" in results[0][0]
    assert f"exported {task} model to {out / '.worker-worker-1' / '1'}" in results[1][0]

    chief = json.loads((out / "1" / "seqtasks.json").read_text())["training"]
    other = json.loads((out / ".worker-worker-1" / "1" / "seqtasks.json").read_text())["training"]
    assert chief["epochs_run"] == 2 and chief["history"] == other["history"]
    assert chief["history"]["loss"][-1] < chief["history"]["loss"][0]
    assert set(chief["history"]) == logged

    texts = ["a gorgeous , witty film about Paris", "dull and lifeless", "Mary met John in Rome ."]
    assert seqtasks.load(out).predict(texts) == seqtasks.load(out / ".worker-worker-1").predict(texts)


def test_a_pipeline_without_multi_worker_support_refuses_a_cluster(tmp_path):
    spec = {"worker": [f"127.0.0.1:{port}" for port in free_ports(2)]}
    lm = DATA / "lm"
    result = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "train", "lm", "--train", lm / "shakespeare_train.txt",
         "--valid", lm / "shakespeare_valid.txt", "--out", tmp_path / "m", "--quiet",
         "--set", "level=char", "units=8", "embedding_dim=4", "num_layers=1", "epochs=1"],
        env=worker_env(spec, 0), capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert "trains in one process only" in result.stderr and "unset TF_CONFIG" in result.stderr
    assert "Traceback" not in result.stderr
