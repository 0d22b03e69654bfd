"""Progress output suits where it goes: one line per epoch in a pipe or a file, none when quiet."""

import io

import keras
import numpy as np
import tensorflow as tf

from seqtasks.config import TrainConfig
from seqtasks.training.epoch_log import EpochLog, progress
from seqtasks.training.fit import fit
from seqtasks.training.optimizers import make_optimizer


def tiny_fit(tmp_path, verbose, capsys):
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).normal(size=(64, 3)).astype("float32")
    data = tf.data.Dataset.from_tensor_slices((x, x.sum(1, keepdims=True))).batch(16)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(make_optimizer("sgd", 0.05, None), "mse")
    fit(model, data, data, TrainConfig(epochs=3), tmp_path / "resume", tmp_path / "logs",
        verbose=verbose)
    return capsys.readouterr().out


def test_not_a_terminal_gets_one_line_per_epoch_with_time_and_scores(tmp_path, capsys):
    out = tiny_fit(tmp_path, "auto", capsys)  # pytest's captured stdout is not a TTY
    lines = out.splitlines()
    assert [line.split()[:2] for line in lines] == [["epoch", "1/3"], ["epoch", "2/3"],
                                                     ["epoch", "3/3"]]
    assert all(" loss " in line and " val_loss " in line for line in lines)
    assert "\r" not in out and "\b" not in out  # no progress-bar frames in logs


def test_quiet_prints_nothing(tmp_path, capsys):
    assert tiny_fit(tmp_path, 0, capsys) == ""


def test_a_terminal_gets_the_keras_bar():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    assert progress("auto", 5, Terminal()) == (1, [])
    verbose, callbacks = progress("auto", 5, io.StringIO())
    assert verbose == 0 and isinstance(callbacks[0], EpochLog)
