"""Training throughput of our LSTM language model against the same model in PyTorch on CPU.

The PTB-small shape (Zaremba et al. 2014): vocabulary 10,000, 2 x 200 LSTM, untied embeddings,
batch 20, 35-step truncated BPTT windows, SGD with global-norm clipping 5, no dropout. Contenders:

- ``seqtasks_keras``: the language-model pipeline's own trainer (``lm.build_trainer`` compiled by
  ``seqtasks.training.lifecycle.compile_model``, as training does) on the pipeline's TBPTT
  windows (``lm.windows``), trained with ``fit``;
- ``stock_keras_lstm``: the same trainer with the pipeline's LSTM layer swapped for
  ``keras.layers.LSTM`` (what seqtasks.layers.projected_rnn changes);
- ``pytorch``: ``nn.Embedding`` -> ``nn.LSTM`` -> ``nn.Linear`` with the usual
  detach-between-windows loop, when torch is importable (else skipped, with a note in the
  result).

Every contender is timed the same way: a fresh process per measurement builds the model, trains
``--warmup`` windows (tracing, allocation; not timed), then trains the same ``--windows`` windows
of the same ids (PTB training ids, or random ids with --synthetic) with ``time.perf_counter``
read before the first step and after the last (Keras: around one ``fit`` over those windows;
PyTorch: around the loop over them). The contenders alternate, ``--repeats`` rounds, so machine
load hits them alike; the result has every repeat and the median, min and max tokens/s.

Run by hand from the repository root (not part of the tests; about 3 x 3 x 30 s on 2 cores):

    pip install torch --index-url https://download.pytorch.org/whl/cpu   # optional bench extra
    python bench/lm_throughput.py [--windows 150] [--repeats 3] [--threads 2]
    python bench/lm_throughput.py --windows 5 --warmup 2 --repeats 1 --results /tmp/benchsmoke

No recipe (the shape is fixed in SHAPE). Writes bench/results/lm-throughput.json (also printed as
one JSON line, the last line of stdout); progress goes to stderr. No model is saved.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

import common

PTB_TRAIN = common.DATA / "ptb" / "ptb.train.txt"
SHAPE = {"vocab": 10_000, "embedding_dim": 200, "units": 200, "num_layers": 2, "batch": 20,
         "steps": 35, "learning_rate": 1.0, "clipnorm": 5.0}
FRAMEWORKS = ("seqtasks_keras", "stock_keras_lstm", "pytorch")
DESCRIPTIONS = {
    "seqtasks_keras": "pipelines.language_model.build_trainer + lifecycle.compile_model, fit",
    "stock_keras_lstm": "the same trainer with keras.layers.LSTM(use_cudnn=False), fit",
    "pytorch": "nn.Embedding -> nn.LSTM -> nn.Linear, SGD, clip_grad_norm_, detach per window",
}


def token_ids(n_windows: int, synthetic: bool) -> np.ndarray:
    """Exactly ``n_windows`` windows of every stream (+1 id for the last target)."""
    n = SHAPE["batch"] * SHAPE["steps"] * n_windows + 1
    if synthetic or not PTB_TRAIN.exists():
        return np.random.default_rng(0).integers(4, SHAPE["vocab"], n).astype("int32")
    words = PTB_TRAIN.read_text(encoding="utf-8").replace("\n", " <eos> ").split()
    index: dict[str, int] = {}
    ids = np.array([index.setdefault(w, len(index)) for w in words[:n]], "int32")
    if len(ids) < n:
        sys.exit(f"bench: {PTB_TRAIN} has fewer than {n} words; lower --windows or --synthetic")
    return ids % SHAPE["vocab"]


def keras_trainer(ids: np.ndarray, stock_lstm: bool = False):
    """The pipeline's trainer and windows -> ``train(n)``: one ``fit`` over the first n windows."""
    import keras

    from pipelines import language_model as lm
    from seqtasks import config as config_lib
    from seqtasks.layers import recurrent
    from seqtasks.training import lifecycle

    if stock_lstm:  # this process only: the builder makes Keras' own LSTM layers
        recurrent.CELLS["lstm"] = lambda units, **kw: keras.layers.LSTM(units, use_cudnn=False,
                                                                        **kw)

    config = config_lib.replace(
        lm.LanguageModelConfig(), cell="lstm", embedding_dim=SHAPE["embedding_dim"],
        units=SHAPE["units"], num_layers=SHAPE["num_layers"], tie_embeddings=False, dropout=0.0,
        optimizer="sgd", learning_rate=SHAPE["learning_rate"], clipnorm=SHAPE["clipnorm"],
        batch_size=SHAPE["batch"], bptt_steps=SHAPE["steps"])
    keras.utils.set_random_seed(0)
    windows = lm.windows(config, ids)
    n_windows = int(windows.cardinality())
    trainer = lm.build_trainer(config, SHAPE["vocab"])
    lifecycle.compile_model(lm.TASK, config, trainer, n_windows)

    def train(n: int) -> None:
        trainer.fit(windows.take(n), epochs=1, verbose=0, shuffle=False)

    return train, n_windows


def torch_trainer(ids: np.ndarray):
    """The PyTorch model -> ``train(n)``: the training loop over the first n windows."""
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
    # Stream b is the b-th contiguous slice of the ids, as in the pipeline's StreamLayout.
    streams = torch.from_numpy(ids[:-1].reshape(batch, -1).astype("int64"))
    targets = torch.from_numpy(ids[1:].reshape(batch, -1).astype("int64"))
    n_windows = streams.shape[1] // steps

    def train(n: int) -> None:
        state = None
        for w in range(n):
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

    return train, n_windows


def measure(framework: str, n_windows: int, warmup: int, threads: int, synthetic: bool) -> dict:
    """In this (fresh) process: warm up, then time ``n_windows`` training steps."""
    ids = token_ids(n_windows, synthetic)
    if framework == "pytorch":
        import torch

        torch.set_num_threads(threads)
        train, available = torch_trainer(ids)
    else:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
        train, available = keras_trainer(ids, stock_lstm=framework == "stock_keras_lstm")
    if available != n_windows:
        raise RuntimeError(f"{framework}: {available} windows from the ids, expected {n_windows}")
    train(warmup)  # not timed: tracing, first allocations
    start = time.perf_counter()
    train(n_windows)
    seconds = time.perf_counter() - start
    tokens = n_windows * SHAPE["batch"] * SHAPE["steps"]
    return {"seconds": seconds, "tokens_per_second": tokens / seconds}


def summary(values: list[float], digits: int = 1) -> dict:
    return {"median": round(statistics.median(values), digits),
            "min": round(min(values), digits), "max": round(max(values), digits)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--windows", type=int, default=150,
                        help="timed training windows (steps) per measurement (default 150)")
    parser.add_argument("--warmup", type=int, default=3,
                        help="untimed warm-up windows before them (default 3)")
    parser.add_argument("--repeats", type=int, default=3, help="rounds of every contender")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--synthetic", action="store_true", help="random ids instead of PTB")
    parser.add_argument("--one", choices=FRAMEWORKS, help=argparse.SUPPRESS)  # child process
    common.add_arguments(parser, config=False, out=False)
    args = parser.parse_args()
    if args.windows < 1 or args.warmup < 1 or args.repeats < 1 or args.threads < 1:
        parser.error("--windows, --warmup, --repeats and --threads must be >= 1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if args.one:
        print(json.dumps(measure(args.one, args.windows, args.warmup, args.threads,
                                 args.synthetic)), flush=True)
        return

    frameworks = list(FRAMEWORKS)
    skipped = {}
    if importlib.util.find_spec("torch") is None:
        frameworks.remove("pytorch")
        skipped["pytorch"] = ("skipped: torch is not importable here (pip install torch "
                              "--index-url https://download.pytorch.org/whl/cpu)")
        common.log(f"pytorch {skipped['pytorch']}")
    child = [sys.executable, __file__, "--windows", str(args.windows), "--warmup",
             str(args.warmup), "--threads", str(args.threads),
             *(["--synthetic"] if args.synthetic else [])]
    runs: dict[str, list[dict]] = {name: [] for name in frameworks}
    for repeat in range(args.repeats):
        for name in frameworks:
            out = subprocess.run([*child, "--one", name], capture_output=True, text=True)
            if out.returncode:
                sys.exit(f"{name} run failed:\n{out.stderr[-3000:]}")
            runs[name].append(json.loads(out.stdout.strip().splitlines()[-1]))
            common.log(f"round {repeat + 1}/{args.repeats} {name}: "
                       f"{runs[name][-1]['tokens_per_second']:,.0f} tokens/s")

    contenders = {}
    for name in FRAMEWORKS:
        if name in skipped:
            contenders[name] = {"description": DESCRIPTIONS[name], "skipped": skipped[name]}
            continue
        rates = [r["tokens_per_second"] for r in runs[name]]
        seconds = [r["seconds"] for r in runs[name]]
        contenders[name] = {
            "description": DESCRIPTIONS[name],
            "tokens_per_second": [round(x, 1) for x in rates],
            "seconds": [round(x, 3) for x in seconds],
            **{f"{k}_tokens_per_second": v for k, v in summary(rates).items()},
            **{f"{k}_seconds": v for k, v in summary(seconds, 3).items()},
        }
    median = {name: c.get("median_tokens_per_second") for name, c in contenders.items()}

    def ratio(a: str, b: str):
        return round(median[a] / median[b], 3) if median[a] and median[b] else None

    versions = {}
    for name in ("tensorflow", "keras", "torch"):
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    common.write_result("lm-throughput", {
        "benchmark": "lm_throughput", "shape": SHAPE,
        "windows_per_measurement": args.windows, "warmup_windows": args.warmup,
        "tokens_per_measurement": args.windows * SHAPE["batch"] * SHAPE["steps"],
        "repeats": args.repeats, "threads": args.threads,
        "data": "random ids" if args.synthetic or not PTB_TRAIN.exists() else "PTB train ids",
        "timing": ("wall clock (time.perf_counter) around the same timed windows for every "
                   "contender, in a fresh process per measurement, after untimed warm-up "
                   "windows; contenders alternate within each round"),
        "contenders": contenders,
        "median_tokens_per_second": median,
        "ratio_seqtasks_over_pytorch": ratio("seqtasks_keras", "pytorch"),
        "ratio_seqtasks_over_stock_keras": ratio("seqtasks_keras", "stock_keras_lstm"),
        "versions": versions,
    }, args.results)


if __name__ == "__main__":
    main()
