import json

import pytest

from pipelines.sentiment import SentimentConfig
from seqtasks import config as config_lib
from seqtasks.errors import ConfigError
from seqtasks.layers.recurrent import CELLS
from seqtasks.training.fit import OPTIMIZERS


def test_choices_in_config_match_the_builders():
    assert set(config_lib.CELLS) == set(CELLS)
    assert set(config_lib.OPTIMIZERS) == set(OPTIMIZERS)


def test_overrides_are_typed():
    config = config_lib.resolve(SentimentConfig, None, [
        "cell=gru", "units=64", "bidirectional=false", "dropout=0.5", "clipnorm=none"])
    assert (config.cell, config.units, config.bidirectional, config.dropout, config.clipnorm) == (
        "gru", 64, False, 0.5, None)


@pytest.mark.parametrize("override, message", [
    ("cel=gru", "did you mean 'cell'"),
    ("cell=lsmt", "Unknown cell 'lsmt'. Expected one of: rnn, lstm, peephole_lstm, gru"),
    ("units=many", "'units' must be an integer"),
    ("bidirectional=maybe", "'bidirectional' must be true or false"),
    ("units", "expects key=value"),
])
def test_bad_overrides_raise_clear_errors(override, message):
    with pytest.raises(ConfigError, match=message):
        config_lib.resolve(SentimentConfig, None, [override])


def test_yaml_and_json_round_trip(tmp_path):
    config = SentimentConfig(cell="peephole_lstm", num_layers=2, time_budget=1.5)
    for name in ("config.yaml", "config.json"):
        config_lib.save(config, tmp_path / name)
        assert config_lib.load_file(SentimentConfig, tmp_path / name) == config
    assert json.loads((tmp_path / "config.json").read_text())["cell"] == "peephole_lstm"


def test_config_file_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("cell: gru\nunits: [1, 2\n")
    with pytest.raises(ConfigError, match="bad.yaml:"):
        config_lib.load_file(SentimentConfig, bad)
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text("colour: red\n")
    with pytest.raises(ConfigError, match="unknown.yaml: Unknown config key 'colour'"):
        config_lib.load_file(SentimentConfig, unknown)


def test_file_then_overrides(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("cell: gru\nunits: 32\n")
    config = config_lib.resolve(SentimentConfig, path, ["units=8"])
    assert (config.cell, config.units, config.pooling) == ("gru", 8, "max")


@pytest.mark.parametrize("override, message", [
    ("units=-3", r"'units' must be >= 1, got -3"),
    ("dropout=1.5", r"'dropout' must be < 1.0, got 1.5"),
    ("learning_rate=0", r"'learning_rate' must be > 0.0, got 0.0"),
    ("epochs=two", r"'epochs' must be an integer, got 'two'"),
])
def test_sizes_and_rates_are_range_checked(override, message):
    from pipelines.sentiment import SentimentConfig

    with pytest.raises(ConfigError, match=message):
        config_lib.resolve(SentimentConfig, overrides=[override])


def test_a_config_built_in_python_is_checked_before_training(tmp_path):
    from pipelines import sentiment

    with pytest.raises(ConfigError, match="'units' must be >= 1"):
        config_lib.check(sentiment.SentimentConfig(units=0))
    with pytest.raises(ConfigError, match="'num_layers' must be >= 1"):
        sentiment.train(sentiment.SentimentConfig(num_layers=0), "missing.tsv", "missing.tsv",
                        tmp_path / "out")
    assert not (tmp_path / "out").exists()  # nothing written
    config_lib.check(sentiment.SentimentConfig(clipnorm=None, time_budget=None))  # none: unbounded


def test_a_bad_yaml_file_says_where_and_why(tmp_path):
    from pipelines.sentiment import SentimentConfig

    path = tmp_path / "bad.yaml"
    path.write_text("cell: gru\nunits: [64\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad.yaml:3: not valid YAML/JSON \(expected ',' or "
                                          r"'\]', but got '<stream end>'\)"):
        config_lib.load_file(SentimentConfig, path)
