"""Training progress that suits where it goes: Keras' progress bar at a terminal, one line per
epoch (elapsed time and every metric) in a log file or a pipe, nothing when quiet."""

from __future__ import annotations

import sys
import time

import keras


class EpochLog(keras.callbacks.Callback):
    """``epoch 3/10  0:42  loss 0.4127  accuracy 0.8125  val_loss 0.5213 ...`` per epoch."""

    def __init__(self, epochs: int, stream=None):
        super().__init__()
        self.epochs = epochs
        self.stream = stream
        self.start = 0.0

    def on_train_begin(self, logs=None):
        self.start = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        minutes, seconds = divmod(int(time.monotonic() - self.start), 60)
        scores = "  ".join(f"{name} {float(value):.4g}" for name, value in (logs or {}).items()
                           if name != "learning_rate")
        print(f"epoch {epoch + 1}/{self.epochs}  {minutes}:{seconds:02d}  {scores}",
              file=self.stream or sys.stdout, flush=True)


def progress(verbose, epochs: int, stream=None) -> tuple[int, list[keras.callbacks.Callback]]:
    """Keras' ``verbose`` and the callbacks for a ``verbose`` of ``"auto"`` (a bar at a
    terminal, lines otherwise), 0 (quiet), 1 (bar) or 2 (lines)."""
    stream = stream or sys.stdout
    if verbose == "auto":
        verbose = 1 if stream.isatty() else 2
    if verbose == 2:
        return 0, [EpochLog(epochs, stream)]
    return (1 if verbose else 0), []
