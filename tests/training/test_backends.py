"""train_backend=torch: the fit runs in a child process on Keras' torch backend (PyTorch's fused
kernels), this process exports what it trained as a plain TensorFlow SavedModel."""

import json

import pytest

from helpers import DATA, run_cli
from pipelines import language_model as lm
from pipelines import sentiment
from seqtasks.errors import ConfigError, TrainingError
from seqtasks.export.savedmodel import op_types as saved_op_types
from seqtasks.training import backends

TRAIN, VALID = DATA / "lm" / "shakespeare_train.txt", DATA / "lm" / "shakespeare_valid.txt"
TINY = ["--set", "units=16", "embedding_dim=12", "num_layers=1", "batch_size=8", "bptt_steps=16",
        "seed=3"]


@pytest.fixture(scope="module")
def torch_export(tmp_path_factory):
    pytest.importorskip("torch")  # the torch extra; CI installs it
    out = tmp_path_factory.mktemp("torch_lm") / "model"
    result = run_cli("train", "lm", "--level", "char", "--train", TRAIN, "--valid", VALID,
                     "--out", out, "--epochs", "2", "--quiet", *TINY, "train_backend=torch")
    assert f"exported lm model to {out / '1'}" in result.stdout
    return out / "1"


def test_the_fit_ran_on_torch_and_the_export_serves_what_it_learned(torch_export):
    meta = json.loads((torch_export / "seqtasks.json").read_text())
    assert meta["config"]["train_backend"] == "torch"
    assert meta["training"]["keras_backend"] == "torch" and meta["training"]["epochs_run"] == 2
    # Trained, not initial weights: far below the uniform guess's perplexity (the vocabulary).
    assert meta["metrics"]["perplexity"] < 0.6 * meta["vocab_size"]
    # A fresh TensorFlow process reproduces the metrics the export was written with.
    result = run_cli("evaluate", torch_export.parent, "--data", VALID, "--json")
    metrics = json.loads(result.stdout.strip().splitlines()[-1])
    assert metrics["perplexity"] == pytest.approx(meta["metrics"]["perplexity"], rel=1e-5)
    types = saved_op_types(torch_export)
    assert not [t for t in types if t.startswith("Cudnn")] and {"While", "StatelessWhile"} & types
    assert not (torch_export.parent / ".resume").exists()  # the run finished and cleaned up


def test_an_error_in_the_child_is_raised_here_and_leaves_nothing_behind(tmp_path):
    pytest.importorskip("torch")
    config = lm.LanguageModelConfig(level="char", units=8, embedding_dim=8, num_layers=1,
                                    batch_size=8, bptt_steps=16, epochs=1, learning_rate=3e38,
                                    optimizer="sgd", clipnorm=None, train_backend="torch")
    with pytest.raises(TrainingError, match="loss became .* lower learning_rate"):
        lm.train(config, TRAIN, VALID, tmp_path / "model", verbose=0)
    assert not (tmp_path / "model" / ".resume").exists()  # no finished epoch: a rerun starts over


def test_tasks_without_the_backend_and_runs_it_cannot_do_are_refused(monkeypatch):
    with pytest.raises(ConfigError, match="the sentiment task trains on tensorflow only"):
        backends.check(sentiment.TASK, sentiment.SentimentConfig(train_backend="torch"))
    config = lm.LanguageModelConfig(train_backend="torch")
    monkeypatch.setattr(backends.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ConfigError, match=r"needs torch, which is not installed: pip install"):
        backends.check(lm.TASK, config)
    monkeypatch.undo()
    if backends.importlib.util.find_spec("torch") is None:
        return
    monkeypatch.setenv("TF_CONFIG", '{"cluster": {}}')
    with pytest.raises(ConfigError, match="multi-worker runs"):
        backends.check(lm.TASK, config)
    monkeypatch.delenv("TF_CONFIG")
    with pytest.raises(ConfigError, match="grad_diagnostics"):
        backends.check(lm.TASK, lm.LanguageModelConfig(train_backend="torch",
                                                       grad_diagnostics=True))
