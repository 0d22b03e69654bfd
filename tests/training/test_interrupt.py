"""Ctrl-C inside ``fit`` stops at a batch boundary; a second one raises at once; the handler the
process had before comes back."""

import os
import signal

import keras
import numpy as np
import pytest

from seqtasks.training import interrupt
from seqtasks.training.callbacks import StopWhenInterrupted


class CtrlCAtBatch(keras.callbacks.Callback):
    def __init__(self, batch: int, presses: int = 1):
        super().__init__()
        self.batch, self.presses, self.seen = batch, presses, []

    def on_train_batch_begin(self, batch, logs=None):
        self.seen.append(batch)
        if batch == self.batch:
            for _ in range(self.presses):
                os.kill(os.getpid(), signal.SIGINT)


def tiny_fit(callbacks):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    x, y = np.ones((64, 3), "float32"), np.ones((64, 1), "float32")
    with interrupt.graceful():
        model.fit(x, y, batch_size=8, epochs=3, verbose=0, callbacks=callbacks)


def test_first_ctrl_c_stops_at_the_end_of_the_running_batch(capsys):
    ctrl_c = CtrlCAtBatch(batch=2)
    with pytest.raises(KeyboardInterrupt):
        tiny_fit([ctrl_c, StopWhenInterrupted()])
    assert ctrl_c.seen == [0, 1, 2]  # batch 2 ran to its end; batch 3 never began
    assert "stopping at the end of this batch" in capsys.readouterr().err
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_second_ctrl_c_raises_at_once():
    ctrl_c = CtrlCAtBatch(batch=1, presses=2)
    with pytest.raises(KeyboardInterrupt):
        tiny_fit([ctrl_c, StopWhenInterrupted()])
    assert ctrl_c.seen == [0, 1]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_later_fit_is_not_stopped_by_an_earlier_ctrl_c():
    with pytest.raises(KeyboardInterrupt):
        tiny_fit([CtrlCAtBatch(batch=0), StopWhenInterrupted()])
    ctrl_c = CtrlCAtBatch(batch=-1)
    tiny_fit([ctrl_c, StopWhenInterrupted()])
    assert len(ctrl_c.seen) == 24  # 3 epochs of 8 batches


def test_an_ignored_sigint_stays_ignored():
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with interrupt.graceful():
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
            os.kill(os.getpid(), signal.SIGINT)
            assert not interrupt.requested()
    finally:
        signal.signal(signal.SIGINT, previous)
