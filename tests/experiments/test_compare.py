import csv
import json
import shutil
import types

import pytest

from helpers import DATA, tiny_sentiment_config
from seqtasks.experiments import compare
from seqtasks.errors import ConfigError, ModelError


ACCURACY = ("accuracy", "max")  # the main score of the stand-in runs


def read_table(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.slow  # four real trainings and exports, ~30 s
def test_compare_grid_writes_table_and_skips_finished_runs(tmp_path):
    from pipelines import sentiment

    base = tiny_sentiment_config(embedding_dim=8, units=8, max_length=20, epochs=1, seed=3)
    runs = compare.grid_runs(base, compare.parse_grid(["cell=rnn,gru", "bidirectional=false,true"]))
    paths = DATA / "sentiment" / "train.tsv", DATA / "sentiment" / "valid.tsv"
    out, lines = tmp_path / "report", []
    compare.compare(sentiment.TASK, runs, *paths, out, {"seed": 3}, log=lines.append)
    rows = read_table(out / "results.csv")
    assert [(r["cell"], r["bidirectional"]) for r in rows] == [
        ("rnn", "false"), ("rnn", "true"), ("gru", "false"), ("gru", "true")]
    for row in rows:  # the table quotes each run's export, scored on the validation file
        evaluated = sentiment.evaluate(row["export"], paths[1])
        assert float(row["accuracy"]) == pytest.approx(evaluated["accuracy"], abs=1e-4)
        assert float(row["tokens_per_second"]) > 0
    assert int(rows[1]["parameters"]) > int(rows[0]["parameters"])  # two directions
    assert sum(": training" in line for line in lines) == 4
    report = (out / "report.md").read_text()
    assert report.count("\n| ") == 5 and "![learning_curves](learning_curves.png)" in report
    assert (out / "learning_curves.png").read_bytes()[:4] == b"\x89PNG"

    lines.clear()  # second call: every run is finished, nothing is retrained
    compare.compare(sentiment.TASK, runs, *paths, out, {"seed": 3}, log=lines.append)
    assert sum("not retrained" in line for line in lines) == 4
    assert read_table(out / "results.csv") == rows


def fake_train(calls):
    """A pipeline ``train`` that exports only seqtasks.json (score = units)."""
    from seqtasks import config as config_lib

    def train(config, train_paths, valid_paths, out_dir, verbose=0):
        calls.append(out_dir.name)
        shutil.rmtree(out_dir / ".resume", ignore_errors=True)  # as a finished run does
        version = out_dir / "1"
        version.mkdir(parents=True, exist_ok=True)
        (version / "saved_model.pb").write_bytes(b"")
        (version / "seqtasks.json").write_text(json.dumps({
            "task": "sentiment", "config": config_lib.to_dict(config),
            "metrics": {"accuracy": config.units / 100},
            "training": {"train_seconds": 1.0, "history": {"loss": [1.0]}}}))
        return version

    return train


def test_fast_grid_of_four_runs_report_and_rerun(tmp_path, monkeypatch):
    base = tiny_sentiment_config()
    runs = compare.grid_runs(base, compare.parse_grid(["units=8,16", "cell=rnn,gru"]))
    calls = []
    task = types.SimpleNamespace(name="sentiment", main_score=ACCURACY,  # a stand-in Task
                                 comparison_figure=lambda exports, valid, path: None)
    monkeypatch.setattr(compare.lifecycle, "train",
                        lambda task, *args, **kwargs: fake_train(calls)(*args, **kwargs))
    compare.compare(task, runs, "t", "v", tmp_path, {"seed": 42}, log=print)
    rows = read_table(tmp_path / "results.csv")
    assert [(r["units"], r["cell"], r["accuracy"]) for r in rows] == [
        ("8", "rnn", "0.08"), ("8", "gru", "0.08"), ("16", "rnn", "0.16"), ("16", "gru", "0.16")]
    assert "best: **units-16_cell-rnn**" in (tmp_path / "report.md").read_text()
    compare.compare(task, runs, "t", "v", tmp_path, {"seed": 42}, log=print)
    assert len(calls) == 4 and read_table(tmp_path / "results.csv") == rows


def test_interrupted_or_changed_runs_are_trained_again(tmp_path):
    base = tiny_sentiment_config()
    runs = compare.grid_runs(base, {"units": ["8", "16"]})
    calls = []
    compare.run_all(fake_train(calls), runs, "t", "v", tmp_path, log=lambda line: None,
                    main_score=ACCURACY)
    assert calls == ["units-8", "units-16"]
    (tmp_path / "runs" / "units-8" / ".resume").mkdir()  # interrupted: train() resumes it
    changed = compare.grid_runs(tiny_sentiment_config(seed=1), {"units": ["16"]})
    compare.run_all(fake_train(calls), runs[:1] + changed, "t", "v", tmp_path, log=print,
                    main_score=ACCURACY)
    # units-8 resumed, units-16 trained with another config (a new version in the same root)
    assert calls[2:] == ["units-8", "units-16"]
    results = compare.run_all(fake_train(calls), runs, "t", "v", tmp_path, log=print,
                              main_score=ACCURACY)
    assert calls[4:] == ["units-16"]  # its newest export was trained with seed 1: trained again
    assert [r["score"] for r in results] == [0.08, 0.16]


def test_run_list_file(tmp_path):
    path = tmp_path / "runs.yaml"
    path.write_text("- {name: small, units: 8}\n- {cell: gru, bidirectional: false}\n")
    runs = compare.file_runs(tiny_sentiment_config(), path)
    assert [r.name for r in runs] == ["small", "cell-gru_bidirectional-false"]
    assert runs[0].config.units == 8 and runs[1].config.cell == "gru"
    path.write_text("- {units: 8}\n- {unitz: 9}\n")
    with pytest.raises(ConfigError, match=r"runs.yaml: run 2: Unknown config key 'unitz'"):
        compare.file_runs(tiny_sentiment_config(), path)
    path.write_text("units: 8\n")
    with pytest.raises(ConfigError, match="expected a list of mappings"):
        compare.file_runs(tiny_sentiment_config(), path)
    with pytest.raises(ConfigError, match="--grid expects key=value1,value2"):
        compare.parse_grid(["cell"])
    with pytest.raises(ConfigError, match="Unknown cell 'lsmt'"):
        compare.grid_runs(tiny_sentiment_config(), compare.parse_grid(["cell=lstm,lsmt"]))


def test_a_run_list_is_read_with_the_recipe_limits(tmp_path):
    path = tmp_path / "runs.yaml"
    path.write_text("- &small {units: 8}\n- *small\n")
    with pytest.raises(ConfigError, match=r"runs.yaml:2: alias '\*small': a recipe may not use"):
        compare.file_runs(tiny_sentiment_config(), path)
    path.write_text("- {units: 8}\n- {1: 9}\n")
    with pytest.raises(ConfigError, match=r"runs.yaml:2: key '1' is not a name"):
        compare.file_runs(tiny_sentiment_config(), path)


def test_runs_are_ranked_by_the_score_the_task_declares(tmp_path):
    """Metrics that hold several scores: the task's own ranks the runs (a lower loss here wins
    although the accuracy, the first score a guess would take, says otherwise)."""
    def train(config, train_paths, valid_paths, out_dir, verbose=0):
        version = out_dir / "1"
        version.mkdir(parents=True, exist_ok=True)
        (version / "saved_model.pb").write_bytes(b"")
        (version / "seqtasks.json").write_text(json.dumps({
            "task": "sentiment", "config": config_lib.to_dict(config),
            "metrics": {"accuracy": config.units / 100, "loss": config.units / 10}}))
        return version

    from seqtasks import config as config_lib

    runs = compare.grid_runs(tiny_sentiment_config(), {"units": ["8", "16"]})
    results = compare.run_all(train, runs, "t", "v", tmp_path, log=print,
                              main_score=("loss", "min"))
    assert [(r["score_name"], r["score_mode"], r["score"]) for r in results] == [
        ("loss", "min", 0.8), ("loss", "min", 1.6)]
    with pytest.raises(ModelError, match="no bleu among the metrics"):
        compare.run_all(train, runs, "t", "v", tmp_path, log=print, main_score=("bleu", "max"))


def test_a_task_without_a_main_score_is_refused_before_any_run_trains(tmp_path):
    task = types.SimpleNamespace(name="mystery", main_score=None)
    runs = compare.grid_runs(tiny_sentiment_config(), {"units": ["8"]})
    with pytest.raises(ConfigError, match="declares no main_score"):
        compare.compare(task, runs, "t", "v", tmp_path, {"seed": 1}, log=print)
    assert not (tmp_path / "runs").exists()
