import json

import pytest

from pipelines.sentiment import SentimentConfig
from seqtasks import config as config_lib
from seqtasks.errors import ConfigError
from seqtasks.layers.recurrent import CELLS
from seqtasks.training.optimizers import OPTIMIZERS


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
    with pytest.raises(ConfigError, match="unknown.yaml:1: Unknown config key 'colour'"):
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


BILLION_LAUGHS = "".join(
    f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]\n"
    for previous, name in zip("abcdefgh", "bcdefghi"))


@pytest.mark.parametrize("text, message", [
    ('a: &a ["lol", "lol"]\n' + BILLION_LAUGHS, r"r.yaml:2: alias '\*a': a recipe may not use "
                                                r"YAML aliases"),
    ("units: 8\n1: 2\n", r"r.yaml:2: key '1' is not a name"),
    ("units: 8\n? [a, b]\n: 3\n", r"r.yaml:2: key 'a collection' is not a name"),
    ("units: 8\ntrue: 2\n", r"r.yaml:2: key 'true' is not a name"),
    ("units: 8\ncell: gru\nunits: 9\n", r"r.yaml:3: 'units' is set twice \(first on line 1\)"),
    ("cell: gru\nunits: [64]\n", r"r.yaml:2: 'units' is a list or mapping"),
    ("x: " + "[" * 100_000 + "\n", r"r.yaml:1: nested more than 8 levels deep"),
    ("- units\n- 8\n", r"r.yaml:1: expected a mapping of key: value lines, got a list"),
    ("cell: gru\nunits: many\n", r"r.yaml:2: 'units' must be an integer, got 'many'"),
    ("cell: gru\nunits: yes\n", r"r.yaml:2: 'units' must be an integer, got True"),
    ("cell: gru\nseed: -1\n", r"r.yaml:2: 'seed' must be >= 0, got -1"),
    ("learning_rate: .nan\n", r"r.yaml:1: 'learning_rate' must be a finite number"),
    (b"cell: gru\nunits: \xff\n", r"r.yaml:2: bytes that are not UTF-8"),
])
def test_a_recipe_holds_only_named_scalars_and_says_where_it_does_not(tmp_path, text, message):
    path = tmp_path / "r.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(ConfigError, match=message):
        config_lib.load_file(SentimentConfig, path)


def test_an_alias_bomb_fails_fast_with_little_memory(tmp_path):
    import resource
    import time

    path = tmp_path / "bomb.yaml"
    path.write_text('a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n'
                    + BILLION_LAUGHS)
    assert path.stat().st_size < 600
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    with pytest.raises(ConfigError, match="alias"):
        config_lib.load_file(SentimentConfig, path)
    assert time.perf_counter() - start < 1.0
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before < 50_000  # KiB


def test_a_huge_recipe_is_refused_before_it_is_read(tmp_path, monkeypatch):
    from seqtasks import recipe_file

    monkeypatch.setattr(recipe_file, "MAX_RECIPE_BYTES", 64)
    path = tmp_path / "big.yaml"
    path.write_text("# padding\n" * 10 + "units: 8\n")
    with pytest.raises(ConfigError, match=r"big.yaml: a 109-byte config file, more than the 64"):
        config_lib.load_file(SentimentConfig, path)


def test_comments_only_and_anchors_without_aliases_are_fine(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("# nothing set\n")
    assert config_lib.load_file(SentimentConfig, path) == SentimentConfig()
    path.write_text("units: &width 32\n")
    assert config_lib.load_file(SentimentConfig, path).units == 32


@pytest.mark.parametrize("override, message", [
    ("seed=-1", r"'seed' must be >= 0, got -1"),
    ("seed=4294967296", r"'seed' must be <= 4294967295"),
    ("units=10000001", r"'units' must be <= 10000000"),
    ("batch_size=0", r"'batch_size' must be >= 1"),
    ("lr_decay=inf", r"'lr_decay' must be a finite number"),
    ("clipnorm=nan", r"'clipnorm' must be a finite number, got 'nan' \(none turns it off\)"),
    ("units=2.5", r"'units' must be an integer, got '2.5'"),
    ("units=" + "9" * 5000, r"'units' must be an integer"),
])
def test_values_are_bounded(override, message):
    with pytest.raises(ConfigError, match=message):
        config_lib.resolve(SentimentConfig, overrides=[override])


def test_seed_bounds_are_what_numpy_accepts():
    import numpy as np

    config = config_lib.resolve(SentimentConfig, overrides=[f"seed={config_lib.MAX_SEED}"])
    np.random.seed(config.seed)  # the largest allowed seed works where Keras uses it
    with pytest.raises(ValueError):
        np.random.seed(config_lib.MAX_SEED + 1)


@pytest.mark.parametrize("overrides, keys", [
    (["units=1000000"], "units=1000000"),
    (["max_vocab_size=10000000", "embedding_dim=100000"], "max_vocab_size=10000000, "
                                                          "embedding_dim=100000"),
    (["batch_size=10000000", "max_length=10000000"], "batch_size=10000000, max_length=10000000"),
])
def test_a_model_too_big_for_memory_is_refused_naming_its_keys(overrides, keys):
    config = config_lib.resolve(SentimentConfig, overrides=overrides)
    with pytest.raises(ConfigError, match=r"the model needs at least [\d,.]+ GB to train \(.*"
                                          + keys + r".*\), more than the [\d,.]+ GB of memory "
                                          r"here: lower max_vocab_size, embedding_dim, units"):
        config_lib.check(config)


def test_the_memory_estimate_grows_with_each_size_and_defaults_fit():
    base, _ = config_lib.training_bytes(SentimentConfig())
    for key, value in (("units", 256), ("embedding_dim", 256), ("num_layers", 2),
                       ("max_vocab_size", 100_000), ("batch_size", 64), ("max_length", 128)):
        bigger, _ = config_lib.training_bytes(config_lib.replace(SentimentConfig(),
                                                                 **{key: value}))
        assert bigger > base, key
    config_lib.check_memory(SentimentConfig(), limit=base)  # exactly fits
    with pytest.raises(ConfigError, match="more than the 0.1 GB"):
        config_lib.check_memory(SentimentConfig(), limit=base - 1)


def test_the_cli_refuses_a_negative_seed_before_writing_anything(tmp_path, capsys):
    # Through the CLI's main in process, as the console script runs it (a real process costs a
    # TensorFlow import).
    from helpers import DATA
    from pipelines.cli.main import main

    assert main(list(map(str, ["train", "sentiment", "--train", DATA / "sentiment" / "train.tsv",
                               "--valid", DATA / "sentiment" / "valid.tsv", "--out",
                               tmp_path / "out", "--set", "seed=-1"]))) != 0
    err = capsys.readouterr().err
    assert "'seed' must be >= 0, got -1" in err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()
