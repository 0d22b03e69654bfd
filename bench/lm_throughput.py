"""Training throughput of our LSTM language model against the same model in PyTorch on CPU.

The PTB-small shape (Zaremba et al. 2014): vocabulary 10,000, 2 x 200 LSTM, untied embeddings,
batch 20, 35-step truncated BPTT windows, SGD with global-norm clipping 5, no dropout. Ours is
the language-model pipeline's own trainer (``pipelines.language_model.build_trainer`` fed by the
pipeline's TBPTT windows through ``fit``); ``stock_keras_lstm`` is the same trainer with the
pipeline's LSTM layer swapped for ``keras.layers.LSTM`` (what seqtasks.layers.projected_rnn
changes); PyTorch is ``nn.Embedding`` -> ``nn.LSTM`` ->
``nn.Linear`` with the usual detach-between-windows loop. Both train on the same PTB training
ids (or random ids with --synthetic), on the same machine, interleaved in one run (``repeats``
rounds of both, median reported), so machine load hits both alike.

    pip install torch --index-url https://download.pytorch.org/whl/cpu   # optional bench extra
    python bench/lm_throughput.py [--windows 150] [--repeats 3] [--threads 2]

Prints one JSON object (last stdout line) and writes bench/results/lm_throughput.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
PTB_TRAIN = REPO.parent / "shared" / "data" / "ptb" / "ptb.train.txt"
SHAPE = {"vocab": 10_000, "embedding_dim": 200, "units": 200, "num_layers": 2, "batch": 20,
         "steps": 35, "learning_rate": 1.0, "clipnorm": 5.0}
FRAMEWORKS = ("seqtasks_keras", "stock_keras_lstm", "pytorch")


def token_ids(n_windows: int, synthetic: bool) -> np.ndarray:
    """Enough ids for ``n_windows`` windows of every stream (+1 for the last target)."""
    n = SHAPE["batch"] * SHAPE["steps"] * n_windows + 1
    if synthetic or not PTB_TRAIN.exists():
        return np.random.default_rng(0).integers(4, SHAPE["vocab"], n).astype("int32")
    words = PTB_TRAIN.read_text(encoding="utf-8").replace("\n", " <eos> ").split()
    index: dict[str, int] = {}
    ids = np.array([index.setdefault(w, len(index)) for w in words[:n]], "int32")
    return ids % SHAPE["vocab"]


def keras_trainer(ids: np.ndarray, stock_lstm: bool = False):
    """The pipeline's trainer and windows; returns a function timing one pass (tokens/s)."""
    import keras

    from pipelines import language_model as lm
    from seqtasks import config as config_lib
    from seqtasks.layers import recurrent
    from seqtasks.training.fit import Throughput

    if stock_lstm:  # this process only: the builder makes Keras' own LSTM layers
        recurrent.CELLS["lstm"] = lambda units, **kw: keras.layers.LSTM(units, use_cudnn=False,
                                                                        **kw)

    config = config_lib.replace(
        lm.LanguageModelConfig(), embedding_dim=SHAPE["embedding_dim"], units=SHAPE["units"],
        num_layers=SHAPE["num_layers"], tie_embeddings=False, dropout=0.0, optimizer="sgd",
        learning_rate=SHAPE["learning_rate"], clipnorm=SHAPE["clipnorm"],
        batch_size=SHAPE["batch"], bptt_steps=SHAPE["steps"])
    keras.utils.set_random_seed(0)
    windows = lm.windows(config, ids)
    _, trainer = lm.build_trainer(config, SHAPE["vocab"], int(windows.cardinality()))
    trainer.fit(windows.take(3), epochs=1, verbose=0)  # trace outside the timing

    def one_pass() -> float:
        throughput = Throughput()
        trainer.fit(windows, epochs=1, verbose=0, callbacks=[throughput])
        return throughput.batches * SHAPE["batch"] * SHAPE["steps"] / throughput.seconds

    return one_pass


def torch_trainer(ids: np.ndarray):
    import torch
    from torch import nn

    torch.manual_seed(0)

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(SHAPE["vocab"], SHAPE["embedding_dim"])
            self.lstm = nn.LSTM(SHAPE["embedding_dim"], SHAPE["units"], SHAPE["num_layers"],
                                batch_first=True)
            self.output = nn.Linear(SHAPE["units"], SHAPE["vocab"])

        def forward(self, x, state):
            y, state = self.lstm(self.embedding(x), state)
            return self.output(y), state

    model = Model()
    optimizer = torch.optim.SGD(model.parameters(), lr=SHAPE["learning_rate"])
    loss_fn = nn.CrossEntropyLoss()
    batch, steps = SHAPE["batch"], SHAPE["steps"]
    streams = torch.from_numpy(ids[:-1].reshape(batch, -1).astype("int64"))
    targets = torch.from_numpy(ids[1:].reshape(batch, -1).astype("int64"))
    n_windows = streams.shape[1] // steps

    def train_windows(windows) -> None:
        state = None
        for w in windows:
            x = streams[:, w * steps:(w + 1) * steps]
            y = targets[:, w * steps:(w + 1) * steps]
            if state is not None:
                state = tuple(s.detach() for s in state)
            logits, state = model(x, state)
            loss = loss_fn(logits.reshape(-1, SHAPE["vocab"]), y.reshape(-1))
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), SHAPE["clipnorm"])
            optimizer.step()

    train_windows(range(3))  # warm-up, as for Keras

    def one_pass() -> float:
        start = time.perf_counter()
        train_windows(range(n_windows))
        return n_windows * batch * steps / (time.perf_counter() - start)

    return one_pass


def measure(framework: str, n_windows: int, threads: int, synthetic: bool) -> float:
    """One warmed-up pass of one framework, in this process: tokens/s."""
    ids = token_ids(n_windows, synthetic)
    if framework == "pytorch":
        import torch

        torch.set_num_threads(threads)
        return torch_trainer(ids)()
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    return keras_trainer(ids, stock_lstm=framework == "stock_keras_lstm")()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=150, help="training windows per pass")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--synthetic", action="store_true", help="random ids instead of PTB")
    parser.add_argument("--one", choices=FRAMEWORKS, help=argparse.SUPPRESS)  # child process
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if args.one:
        print(measure(args.one, args.windows, args.threads, args.synthetic))
        return
    child = [sys.executable, __file__, "--windows", str(args.windows), "--threads",
             str(args.threads), *(["--synthetic"] if args.synthetic else [])]
    runs: dict[str, list[float]] = {name: [] for name in FRAMEWORKS}
    load_before = os.getloadavg()
    for _ in range(args.repeats):
        for name in FRAMEWORKS:
            out = subprocess.run([*child, "--one", name], capture_output=True, text=True)
            if out.returncode:
                sys.exit(f"{name} run failed:\n{out.stderr[-3000:]}")
            runs[name].append(round(float(out.stdout.strip().splitlines()[-1]), 1))
            print(name, runs[name][-1], file=sys.stderr, flush=True)
    median = {name: statistics.median(values) for name, values in runs.items()}
    versions = subprocess.run(
        [sys.executable, "-c", "import importlib.metadata as m; "
         "print(m.version('tensorflow'), m.version('keras'), m.version('torch'))"],
        capture_output=True, text=True).stdout.split()
    result = {
        "shape": SHAPE, "windows_per_pass": args.windows, "threads": args.threads,
        "data": "random ids" if args.synthetic else "PTB train ids",
        "tokens_per_second": runs, "median_tokens_per_second": median,
        "ratio_seqtasks_over_pytorch": round(median["seqtasks_keras"] / median["pytorch"], 3),
        "ratio_seqtasks_over_stock_keras": round(
            median["seqtasks_keras"] / median["stock_keras_lstm"], 3),
        "versions": dict(zip(("tensorflow", "keras", "torch"), versions)),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }
    results = REPO / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    from seqtasks.io import atomic_write_text

    atomic_write_text(results / "lm_throughput.json", json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
