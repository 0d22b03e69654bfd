"""Per-step gradient diagnostics for ``seqtasks.training.fit.fit``
(``TrainConfig.grad_diagnostics``).

Every model trains through Keras' ``train_step``, which hands the raw gradients to
``optimizer.apply``; clipping by global norm happens inside it. ``GradientLog`` wraps that one
method of the compiled optimizer for the duration of ``fit``, so it sees the gradients *before*
clipping for every model (functional, ``TruncatedBPTT``, ``Seq2Seq``) without touching their code.
Inside the compiled step the norms go into one small non-trainable vector; after each batch the
callback reads it (one transfer), appends a row to ``gradients.csv``, writes TensorBoard scalars
and stops training at the first NaN/Inf gradient, naming the step and the layer.

Layers are the variables' Keras paths minus the variable name
(``encoder_bi_0/forward_.../lstm_cell``).
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import keras
from keras import ops

from seqtasks.errors import TrainingError
from seqtasks.io import atomic_write_text

CSV_NAME = "gradients.csv"
FIXED_COLUMNS = ("step", "epoch", "batch", "global_norm", "clipped")


def layer_of(variable) -> str:
    """The layer a variable belongs to: its path without the variable's own name."""
    path = getattr(variable, "path", None) or variable.name
    return path.rsplit("/", 1)[0] if "/" in path else path


def layer_groups(variables) -> dict[str, list[int]]:
    """Layer name -> positions of its variables in ``variables``, in first-seen order."""
    groups: dict[str, list[int]] = {}
    for i, variable in enumerate(variables):
        groups.setdefault(layer_of(variable), []).append(i)
    return groups


def gradient_norms(grads, layers: list[str], variables) -> list:
    """[global norm, norm per layer in ``layers`` order] of a list of gradients (None: zero).
    Sparse (embedding) gradients are densified, as Keras' own global-norm clipping does."""
    squares = {name: [] for name in layers}
    for grad, variable in zip(grads, variables):
        if grad is not None:
            squares[layer_of(variable)].append(ops.sum(ops.square(ops.convert_to_tensor(grad))))
    per_layer = [ops.sum(ops.stack(s)) if s else ops.zeros(()) for s in squares.values()]
    total = ops.sqrt(ops.sum(ops.stack(per_layer)))
    return [total, *[ops.sqrt(s) for s in per_layer]]


class _CsvLog:
    """Rows appended one complete line at a time and flushed; a torn last line (a crash mid-write)
    is cut off before appending again. A new run, or a different set of columns, starts afresh."""

    def __init__(self, path: Path, header: list[str], keep_existing: bool):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        if not (keep_existing and self._same_header(header)):
            atomic_write_text(path, self._line(header))
        self._cut_torn_line()
        self.file = open(path, "a", encoding="utf-8", newline="")

    def _same_header(self, header: list[str]) -> bool:
        if not self.path.exists():
            return False
        with open(self.path, encoding="utf-8", newline="") as f:
            return next(csv.reader(f), None) == header

    def _cut_torn_line(self) -> None:
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            with open(self.path, "r+b") as f:
                f.truncate(data.rfind(b"\n") + 1)

    @staticmethod
    def _line(values) -> str:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerow(values)
        return buffer.getvalue()

    def append(self, values) -> None:
        self.file.write(self._line(values))
        self.file.flush()

    def close(self) -> None:
        self.file.close()


class GradientLog(keras.callbacks.Callback):
    """Logs the global gradient norm before clipping, whether clipping fired and per-layer norms
    for every training step to ``log_dir/gradients.csv`` and TensorBoard (``log_dir/gradients``);
    raises ``TrainingError`` at the first non-finite gradient. ``resumed``: keep the rows of the
    interrupted run (steps of its unfinished epoch appear again; the last row of a step wins)."""

    def __init__(self, log_dir: str | Path, resumed: bool = False):
        super().__init__()
        self.log_dir = Path(log_dir)
        self.resumed = resumed
        self.layers: list[str] = []
        self.values = None
        self.epoch = 0
        self.step = None
        self._optimizer = None

    # Installing and removing the hook -----------------------------------------------------------

    def on_train_begin(self, logs=None):
        optimizer = self.model.optimizer
        self.layers = list(layer_groups(self.model.trainable_variables))
        self.clipnorm = optimizer.global_clipnorm
        self.values = keras.Variable(ops.zeros((len(self.layers) + 1,)), trainable=False,
                                     name="gradient_norms")
        original = optimizer.apply
        model_variables = self.model.trainable_variables

        def apply(grads, trainable_variables=None):
            variables = model_variables if trainable_variables is None else trainable_variables
            self.values.assign(ops.stack(gradient_norms(grads, self.layers, variables)))
            return original(grads, trainable_variables)

        optimizer.apply = apply  # an instance attribute: this optimizer only, until train end
        self._optimizer = optimizer
        self.model.make_train_function(force=True)  # trace the step again, with the hook
        self.csv = _CsvLog(self.log_dir / CSV_NAME,
                           [*FIXED_COLUMNS, *(f"norm/{name}" for name in self.layers)],
                           keep_existing=self.resumed)
        import tensorflow as tf  # TensorBoard event files (tf.summary), as Keras' callback writes

        self.writer = tf.summary.create_file_writer(str(self.log_dir / "gradients"))

    def on_train_end(self, logs=None):
        self._close()

    def _close(self):
        if self._optimizer is not None:
            del self._optimizer.apply  # back to the class's method
            self._optimizer = None
            self.csv.close()
            self.writer.close()

    # Per step -----------------------------------------------------------------------------------

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        if self.step is None:  # after BackupAndRestore has restored a resumed run's counter
            self.step = int(keras.ops.convert_to_numpy(self._optimizer.iterations))

    def on_train_batch_end(self, batch, logs=None):
        import tensorflow as tf

        # Our own count: Keras adds a phantom iteration when a dataset of unknown length ends.
        self.step += 1
        step = self.step
        values = [float(v) for v in keras.ops.convert_to_numpy(self.values)]
        total, per_layer = values[0], values[1:]
        clipped = bool(self.clipnorm is not None and total > self.clipnorm)
        self.csv.append([step, self.epoch + 1, batch + 1, repr(total), int(clipped),
                         *map(repr, per_layer)])
        with self.writer.as_default(step=step):
            tf.summary.scalar("gradients/global_norm", total)
            tf.summary.scalar("gradients/clipped", float(clipped))
            for name, norm in zip(self.layers, per_layer):
                tf.summary.scalar(f"gradients/{name}", norm)
        if not math.isfinite(total):
            bad = next((n for n, v in zip(self.layers, per_layer) if not math.isfinite(v)), "?")
            self._close()
            raise TrainingError(
                f"gradient became {total} at step {step} (epoch {self.epoch + 1}, batch "
                f"{batch + 1}) in layer '{bad}': lower learning_rate, set clipnorm, or look for "
                f"log/sqrt/division of zero in that layer ({self.log_dir / CSV_NAME})")
