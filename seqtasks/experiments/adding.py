"""The adding problem (Hochreiter & Schmidhuber 1997): a long-dependency benchmark needing no data.

Each input step is a pair (value in [0, 1), marker); exactly two steps are marked, one in each
half of the sequence, and the target is the sum of their two values. Predicting the mean (1.0)
scores a mean squared error of about 0.167; a prediction within 0.04 of the target counts as
correct. To solve it the model must carry the first marked value across about half the sequence,
which is where plain RNNs' vanishing gradients show.

``run_benchmark`` trains every (cell, length) briefly through ``seqtasks.training.fit.fit`` (seeded,
bounded by steps and minutes, gradient diagnostics on), measures ``||dloss/dh_t||`` at
initialisation and after training, and repeats the shortest length without clipping so the
per-step gradient norms with and without clipping by global norm can be set side by side.
"""

from __future__ import annotations

import csv
import dataclasses
import itertools
import json
from pathlib import Path
from typing import Callable

import keras
import numpy as np

from seqtasks.config import RecurrentConfig, TrainConfig
from seqtasks.diagnostics.flow import state_gradient_norms
from seqtasks.diagnostics.gradient_log import CSV_NAME
from seqtasks.io import atomic_write_text
from seqtasks.layers.recurrent import recurrent_stack
from seqtasks.training.fit import fit
from seqtasks.training.optimizers import make_optimizer

TOLERANCE = 0.04  # a prediction this close to the target is correct


@dataclasses.dataclass
class AddingConfig:
    cells: tuple[str, ...] = ("rnn", "lstm", "peephole_lstm", "gru")
    lengths: tuple[int, ...] = (50, 100, 200)
    units: int = 32
    steps: int = 3000  # training steps per run at most
    batch_size: int = 32
    learning_rate: float = 3e-3
    clipnorm: float = 1.0
    minutes: float = 1.5  # time budget per run
    seed: int = 0
    n_valid: int = 512


def adding_examples(n: int, length: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` sequences [n, length, 2] and their targets [n, 1]."""
    rng = np.random.default_rng(seed)
    values = rng.uniform(size=(n, length)).astype("float32")
    markers = np.zeros((n, length), dtype="float32")
    half = length // 2
    first, second = rng.integers(0, half, size=n), rng.integers(half, length, size=n)
    markers[np.arange(n), first] = 1.0
    markers[np.arange(n), second] = 1.0
    targets = (values * markers).sum(axis=1, keepdims=True)
    return np.stack([values, markers], axis=-1), targets


def training_epochs(length: int, batch_size: int, steps_per_epoch: int, seed: int):
    """Epochs of ``steps_per_epoch`` batches, fresh ones every epoch (each batch has its own
    seed, counted across epochs), so no run can memorise its data."""
    import tensorflow as tf

    counter = itertools.count()

    def batches():
        for _ in range(steps_per_epoch):
            yield adding_examples(batch_size, length, seed * 1_000_003 + next(counter))

    spec = (tf.TensorSpec((batch_size, length, 2), tf.float32),
            tf.TensorSpec((batch_size, 1), tf.float32))
    dataset = tf.data.Dataset.from_generator(batches, output_signature=spec)
    return dataset.apply(tf.data.experimental.assert_cardinality(steps_per_epoch))


def within_tolerance(y_true, y_pred):
    return keras.ops.mean(keras.ops.cast(keras.ops.abs(y_true - y_pred) < TOLERANCE, "float32"))


def build(cell: str, units: int, length: int, learning_rate: float, clipnorm: float | None
          ) -> keras.Model:
    """[values, markers] sequence -> the predicted sum, through the shared recurrent builder."""
    inputs = keras.Input((length, 2), name="sequence")
    recurrent = RecurrentConfig(cell=cell, units=units, num_layers=1, bidirectional=False,
                                dropout=0.0)
    x = recurrent_stack(inputs, recurrent, return_sequences=False)
    model = keras.Model(inputs, keras.layers.Dense(1, name="sum")(x), name=f"adding_{cell}")
    # jit_compile=False as the lifecycle's fit does: under "auto" Keras may hand a cell without
    # a fused kernel (peephole_lstm) to XLA, whose first step then took 20-110 s (the whole
    # time budget) in a long diagnose run.
    model.compile(make_optimizer("adam", learning_rate, clipnorm), "mse",
                  metrics=[within_tolerance], jit_compile=False)
    return model


def mse_loss(targets):
    return lambda predictions: keras.ops.mean(keras.ops.square(predictions - targets))


def run_one(config: AddingConfig, cell: str, length: int, clipnorm: float | None, run_dir: Path,
            verbose=0) -> dict:
    """Train one model; its result (also written to ``run_dir/result.json``)."""
    import tensorflow as tf

    keras.utils.set_random_seed(config.seed)
    model = build(cell, config.units, length, config.learning_rate, clipnorm)
    x_valid, y_valid = adding_examples(config.n_valid, length, config.seed + 1)
    probe_x, probe_y = x_valid[:64], y_valid[:64]
    flow_init = state_gradient_norms(model, probe_x, mse_loss(probe_y))
    steps_per_epoch = min(50, config.steps)
    train_config = TrainConfig(epochs=max(1, config.steps // steps_per_epoch),
                               batch_size=config.batch_size, clipnorm=clipnorm,
                               early_stopping_patience=10**6, time_budget=config.minutes,
                               seed=config.seed, grad_diagnostics=True)
    train_ds = training_epochs(length, config.batch_size, steps_per_epoch, config.seed)
    valid_ds = tf.data.Dataset.from_tensor_slices((x_valid, y_valid)).batch(256)
    summary = fit(model, train_ds, valid_ds, train_config, run_dir / "resume", run_dir / "logs",
                  verbose=verbose)
    loss, accuracy = model.evaluate(x_valid, y_valid, verbose=0, batch_size=256)
    with open(run_dir / "logs" / CSV_NAME, newline="") as f:
        rows = list(csv.DictReader(f))
    result = {
        "cell": cell, "length": length, "clipnorm": clipnorm, "mse": float(loss),
        "accuracy": float(accuracy), "steps": int(rows[-1]["step"]) if rows else 0,
        "train_seconds": summary["train_seconds"], "parameters": summary["parameters"],
        "clipped_fraction": float(np.mean([r["clipped"] == "1" for r in rows])) if rows else 0.0,
        "grad_norm": [float(r["global_norm"]) for r in rows],
        "flow_init": flow_init.tolist(),
        "flow_trained": state_gradient_norms(model, probe_x, mse_loss(probe_y)).tolist(),
    }
    atomic_write_text(run_dir / "result.json", json.dumps(result))
    return result


def run_benchmark(config: AddingConfig, out_dir: str | Path,
                  log: Callable[[str], None] = print) -> list[dict]:
    """Every (cell, length) with clipping, plus every cell at the shortest length without;
    finished runs (``runs/<name>/result.json``) are read back, not retrained."""
    out_dir = Path(out_dir)
    plan = [(cell, length, config.clipnorm) for length in config.lengths for cell in config.cells]
    plan += [(cell, min(config.lengths), None) for cell in config.cells]
    results = []
    for i, (cell, length, clipnorm) in enumerate(plan, 1):
        name = f"{cell}-T{length}" + ("" if clipnorm else "-noclip")
        run_dir = out_dir / "runs" / name
        done = run_dir / "result.json"
        if done.exists():
            results.append(json.loads(done.read_text(encoding="utf-8")))
            log(f"[{i}/{len(plan)}] {name}: finished earlier")
            continue
        log(f"[{i}/{len(plan)}] {name}: training")
        run_dir.mkdir(parents=True, exist_ok=True)
        results.append(run_one(config, cell, length, clipnorm, run_dir))
        r = results[-1]
        log(f"    accuracy {r['accuracy']:.3f}  mse {r['mse']:.4f}  {r['steps']} steps  "
            f"{r['train_seconds']} s")
    return results


# --- Report ------------------------------------------------------------------------------------

def _smooth(values: list[float], window: int = 25) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    if len(values) < window:
        return values
    return np.convolve(values, np.ones(window) / window, mode="valid")


def figure(results: list[dict], path: str | Path) -> Path:
    """(a) accuracy and MSE vs length; (b) ||dloss/dh_t|| at the longest length, initialised
    and trained; (c) global gradient norm per step with and without clipping."""
    from seqtasks.evaluation.plots import Panel, line_panels_png

    clipped = [r for r in results if r["clipnorm"]]
    cells = list(dict.fromkeys(r["cell"] for r in results))
    color = {cell: f"C{i}" for i, cell in enumerate(cells)}
    longest = max(r["length"] for r in clipped)

    def by_length(cell, key):
        rows = sorted((r for r in clipped if r["cell"] == cell), key=lambda r: r["length"])
        return [r["length"] for r in rows], [r[key] for r in rows]

    accuracy = Panel("accuracy (|error| < 0.04) vs length", "sequence length", "accuracy",
                     [(c, *by_length(c, "accuracy"), f"{color[c]}o-") for c in cells])
    mse = Panel("validation MSE vs length (predict 1.0: 0.167)", "sequence length", "MSE",
                [(c, *by_length(c, "mse"), f"{color[c]}o-") for c in cells])
    flow_lines = []
    for r in (r for r in clipped if r["length"] == longest):
        steps = range(1, r["length"] + 1)
        flow_lines += [(f"{r['cell']} trained", steps, r["flow_trained"], f"{color[r['cell']]}-"),
                       (f"{r['cell']} init", steps, r["flow_init"], f"{color[r['cell']]}:")]
    flow = Panel(f"||dloss/dh_t||, length {longest}", "time step t", "gradient norm",
                 flow_lines, log_y=True)
    norm_lines = []
    for r in results:
        if r["length"] == min(x["length"] for x in results if not x["clipnorm"]):
            smooth = _smooth(r["grad_norm"], 50)
            label = f"{r['cell']} {'clip ' + str(r['clipnorm']) if r['clipnorm'] else 'no clip'}"
            norm_lines.append((label, range(1, len(smooth) + 1), smooth,
                               f"{color[r['cell']]}{'-' if r['clipnorm'] else '--'}"))
    norms = Panel("gradient norm before clipping (50-step mean)", "training step",
                  "gradient norm", norm_lines, log_y=True)
    return line_panels_png([accuracy, mse, flow, norms], path,
                           title="Adding problem: brief training per cell and length")


def write_tables(results: list[dict], out_dir: Path) -> Path:
    """results.csv (every run) and results.md (accuracy / MSE per cell and length)."""
    columns = ["cell", "length", "clipnorm", "accuracy", "mse", "steps", "train_seconds",
               "parameters", "clipped_fraction", "max_grad_norm"]
    rows = [{**r, "max_grad_norm": max(r["grad_norm"], default=0.0)} for r in results]
    lines = [",".join(columns)] + [",".join(str(r[c]) for c in columns) for r in rows]
    atomic_write_text(out_dir / "results.csv", "\n".join(lines) + "\n")
    lengths = sorted({r["length"] for r in results if r["clipnorm"]})
    shortest = min(lengths)

    def cell_text(r):
        return f"{r['accuracy']:.3f} / {r['mse']:.4f} ({r['steps']} steps)" if r else ""

    md = ["accuracy / MSE (training steps in the time budget); last column: the same cell at "
          f"T={shortest} without clipping, then the largest gradient norm seen without / with "
          "clipping", "",
          "| cell | " + " | ".join(f"T={n}" for n in lengths) + f" | T={shortest}, no clip |",
          "|---|" + "---|" * (len(lengths) + 1)]
    for cell in dict.fromkeys(r["cell"] for r in rows):
        mine = {(r["length"], bool(r["clipnorm"])): r for r in rows if r["cell"] == cell}
        cells = [cell_text(mine.get((n, True))) for n in lengths]
        free, clip = mine.get((shortest, False)), mine.get((shortest, True))
        cells.append(f"{cell_text(free)}; max norm {free['max_grad_norm']:.3g} / "
                     f"{clip['max_grad_norm']:.3g}" if free and clip else "")
        md.append(f"| {cell} | " + " | ".join(cells) + " |")
    atomic_write_text(out_dir / "results.md", "\n".join(md) + "\n")
    return out_dir / "results.md"


def main(config: AddingConfig, out_dir: str | Path, log: Callable[[str], None] = print) -> Path:
    """``seqtasks diagnose --task adding``: run (or read back) every run, write adding.png,
    results.csv and results.md; returns the Markdown table's path."""
    from seqtasks.errors import ConfigError
    from seqtasks.layers.recurrent import CELLS

    unknown = [c for c in config.cells if c not in CELLS]
    if unknown or not config.cells:
        raise ConfigError(f"Unknown cell '{(unknown or [''])[0]}'. Expected one of: "
                          f"{', '.join(CELLS)}")
    if not config.lengths or min(config.lengths) < 2:
        raise ConfigError(f"--length needs sequence lengths >= 2, got {list(config.lengths)}")
    out_dir = Path(out_dir)
    results = run_benchmark(config, out_dir, log)
    figure(results, out_dir / "adding.png")
    return write_tables(results, out_dir)
