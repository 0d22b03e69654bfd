import csv

import numpy as np
import pytest

from seqtasks.experiments import adding
from seqtasks.errors import ConfigError


def test_examples_have_two_markers_one_per_half():
    x, y = adding.adding_examples(50, 10, seed=1)
    markers = x[..., 1]
    assert x.shape == (50, 10, 2) and np.all(markers.sum(axis=1) == 2)
    assert np.all(markers[:, :5].sum(axis=1) == 1)
    np.testing.assert_allclose(y[:, 0], (x[..., 0] * markers).sum(axis=1), rtol=1e-6)
    np.testing.assert_array_equal(adding.adding_examples(50, 10, seed=1)[0], x)  # seeded


def test_benchmark_writes_figure_and_tables_and_reuses_runs(tmp_path):
    config = adding.AddingConfig(cells=("rnn",), lengths=(4, 6), units=4, steps=8,
                                 minutes=0.5, n_valid=64)
    lines = []
    table = adding.main(config, tmp_path, log=lines.append)
    assert (tmp_path / "adding.png").read_bytes()[:4] == b"\x89PNG"
    with open(tmp_path / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 3 and {r["clipnorm"] for r in rows} == {"1.0", "None"}
    assert all(int(r["steps"]) == 8 for r in rows)
    clipped = [r for r in rows if r["clipnorm"] == "1.0"]
    # the clipping flag follows the logged norm
    for r in clipped:
        grads = np.loadtxt(tmp_path / "runs" / f"{r['cell']}-T{r['length']}" / "logs" /
                           "gradients.csv", delimiter=",", skiprows=1, usecols=(3, 4))
        np.testing.assert_array_equal(grads[:, 1], grads[:, 0] > 1.0)
    assert "| rnn | " in table.read_text() and "steps)" in table.read_text()
    lines.clear()
    adding.main(config, tmp_path, log=lines.append)
    assert sum("finished earlier" in line for line in lines) == 3


def test_bad_cells_and_lengths(tmp_path):
    with pytest.raises(ConfigError, match="Unknown cell 'lsmt'"):
        adding.main(adding.AddingConfig(cells=("lsmt",)), tmp_path)
    with pytest.raises(ConfigError, match="lengths >= 2"):
        adding.main(adding.AddingConfig(lengths=(1,)), tmp_path)


def test_models_stay_off_xla():
    """Every cell compiles without XLA, as the lifecycle's fit does: under jit_compile="auto" a
    peephole LSTM's first step took the whole time budget of a long diagnose run."""
    for cell in ("rnn", "lstm", "peephole_lstm", "gru"):
        assert adding.build(cell, 4, 5, 1e-3, 1.0).jit_compile is False, cell
