"""Training throughput of our recurrent language models against the same models in PyTorch on CPU.

Two shapes (``SHAPES``), both trained with SGD and global-norm clipping 5, no dropout, untied
embeddings: ``ptb_small`` (Zaremba et al. 2014: vocabulary 10,000, 2 x 200, batch 20, 35-step
truncated BPTT windows, PTB training ids) and ``char`` (the tiny-shakespeare recipe's model:
vocabulary 65, embedding 64, 2 x 512, batch 64, 100-step windows, random ids). Cells ``lstm`` and
``gru``. Contenders:

- ``seqtasks_fused``: the language-model pipeline's own trainer
  (``lm.build_trainer`` compiled by ``seqtasks.training.fit_task.compile_model``, as training
  does) on the pipeline's TBPTT windows (``lm.windows``), trained with ``fit``, with
  ``rnn_kernel=fused`` (seqtasks.layers.fused_rnn: the projected loop with its own backward
  pass; what ``auto`` picks for LSTMs);
- ``seqtasks_torch``: the same trainer, ``rnn_kernel=fused``, in a process on Keras 3's torch
  backend, as ``train_backend=torch`` trains (``seqtasks.training.backends``): the fused layers
  run PyTorch's own kernels there (``seqtasks.layers.torch_rnn``), fed by the same tf.data
  windows;
- ``seqtasks_keras``: the same with ``rnn_kernel=keras`` (seqtasks.layers.projected_rnn);
- ``stock_keras``: the same trainer with the recurrent layers swapped for
  ``keras.layers.LSTM`` / ``GRU`` (``use_cudnn=False``);
- ``pytorch``: ``nn.Embedding`` -> ``nn.LSTM`` / ``nn.GRU`` -> ``nn.Linear`` with the usual
  detach-between-windows loop, when torch is importable (else skipped, with a note);
- ``keras_jax`` (with ``--jax-python PY``, an interpreter with ``jax`` and ``keras``): the same
  layers as stock Keras (``Embedding`` -> ``LSTM`` / ``GRU`` -> ``Dense``) under Keras 3's JAX
  backend (``lax.scan`` loops, the train step compiled by XLA), SGD with global-norm clipping,
  ``fit`` on the same windows; its state starts from zeros each window (the same work).
  ``bench/jax_export.py`` carries weights trained this way into the pipeline's TensorFlow model
  and a SavedModel, and checks their logits against JAX's.

Levers (``LEVERS``), each one change to one contender on the PTB-small LSTM (oneDNN also on the
char LSTM): ``unroll=False`` (the trainer unrolls the fixed-length windows,
``seqtasks.training.tbptt.unrolled``; this runs Keras' While loops instead; the fused kernel has
its loop in C++ either way), one intra-op thread instead of ``--threads``, and oneDNN off
(``TF_ENABLE_ONEDNN_OPTS=0``); and for every shape and cell PyTorch on one thread (ratios are
given against PyTorch at ``--threads`` and against its faster setting) and PyTorch with oneDNN
off (``torch.backends.mkldnn.enabled = False``: its CPU ``nn.LSTM`` / ``nn.GRU`` otherwise run
as oneDNN's fused RNN primitive, forward and backward; off, its own per-step kernels — a
diagnosis of the gap, reported as a ratio, not counted as a contender).

Malloc: our trainers (``seqtasks_*`` and ``stock_keras``, which uses the same trainer) run with
``seqtasks.training.malloc.keep_freed_memory()``, as ``seqtasks train`` does (the freed top of
glibc's heaps stays mapped instead of being page-faulted back in every step); PyTorch and JAX
run with glibc's defaults, as their users get them. Levers on the LSTMs: ``+glibc_default``
(ours without it) and ``pytorch+keep_freed_memory`` (PyTorch with the same setting: counted
among PyTorch's settings, so the ``*_over_pytorch_best`` ratios compare like with like).

Every measurement is timed the same way: a fresh process builds the model, trains ``--warmup``
windows (tracing, allocation; not timed), then trains the same ``--windows`` windows (per shape)
of the same ids with ``time.perf_counter`` read before the first step and after the last (Keras:
around one ``fit`` over those windows; PyTorch: around the loop over them). All measurements
alternate within each of ``--repeats`` rounds, so machine load hits them alike; the result has
every repeat with the load average around it, and median, min and max tokens/s.

Run by hand from the repository root (not part of the tests; 15-25 minutes on 2 shared cores):

    pip install torch --index-url https://download.pytorch.org/whl/cpu   # optional bench extra
    python bench/lm_throughput.py [--repeats 2] [--threads 2] [--only ptb_small]
    python bench/lm_throughput.py --windows 2 --char-windows 1 --warmup 1 --repeats 1 \
        --results /tmp/benchsmoke

No recipe (the shapes are fixed in SHAPES). Writes bench/results/lm-throughput.json (also printed
as one JSON line, the last line of stdout); progress goes to stderr. No model is saved.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import importlib.util
import os
import statistics
import subprocess
import sys
import time

import numpy as np

import common

PTB_TRAIN = common.DATA / "ptb" / "ptb.train.txt"
TRAINING = {"learning_rate": 1.0, "clipnorm": 5.0, "optimizer": "sgd"}
SHAPES = {
    "ptb_small": {"vocab": 10_000, "embedding_dim": 200, "units": 200, "num_layers": 2,
                  "batch": 20, "steps": 35, "data": "PTB train ids"},
    "char": {"vocab": 65, "embedding_dim": 64, "units": 512, "num_layers": 2, "batch": 64,
             "steps": 100, "data": "random ids"},
}
CELLS = ("lstm", "gru")
FRAMEWORKS = ("seqtasks_fused", "seqtasks_torch", "seqtasks_keras", "stock_keras", "pytorch",
              "keras_jax")
# Trained by the pipeline's trainer, which keeps freed memory mapped (seqtasks.training.malloc).
OUR_TRAINERS = ("seqtasks_fused", "seqtasks_torch", "seqtasks_keras", "stock_keras")
DESCRIPTIONS = {
    "seqtasks_fused": "pipelines.language_model.build_trainer + lifecycle.compile_model, fit, "
                      "rnn_kernel=fused (projected loop, fused hoisted backward pass)",
    "seqtasks_torch": "the same (rnn_kernel=fused) on Keras' torch backend, as "
                      "train_backend=torch trains: PyTorch's fused LSTM/GRU kernels",
    "seqtasks_keras": "the same with rnn_kernel=keras (projected-input While loop)",
    "stock_keras": "the same trainer with keras.layers.LSTM/GRU(use_cudnn=False), fit",
    "pytorch": "nn.Embedding -> nn.LSTM/GRU -> nn.Linear, SGD, clip_grad_norm_, detach per window",
    "keras_jax": "keras.layers.Embedding -> LSTM/GRU -> Dense on Keras 3's JAX backend (XLA, "
                 "lax.scan), SGD(global_clipnorm), fit; zero state per window",
}
# name -> (shape, framework, changes to the measurement's defaults); cell lstm unless the name
# says gru. PyTorch on one thread too: on a CPU shared with other work its OpenMP team of
# --threads can be slower than one thread, and ours is compared with its best.
LEVERS = {
    **{f"{shape}/{cell}/pytorch+intra_op_1": (shape, "pytorch", {"intra_op": 1})
       for shape in SHAPES for cell in CELLS},
    # PyTorch's CPU LSTM / GRU run as oneDNN's fused RNN primitive (aten::mkldnn_rnn_layer and
    # its backward); off, they run PyTorch's own per-step kernels: what the gap to it is made of.
    **{f"{shape}/{cell}/pytorch+mkldnn_off": (shape, "pytorch", {"mkldnn": False})
       for shape in SHAPES for cell in CELLS},
    # The allocator: ours without keep_freed_memory, PyTorch with it (see the module doc).
    **{f"{shape}/lstm/seqtasks_fused+glibc_default": (shape, "seqtasks_fused",
                                                      {"malloc": "default"}) for shape in SHAPES},
    "char/lstm/seqtasks_torch+glibc_default": ("char", "seqtasks_torch", {"malloc": "default"}),
    **{f"{shape}/{cell}/pytorch+keep_freed_memory": (shape, "pytorch", {"malloc": "keep"})
       for shape in SHAPES for cell in CELLS},
    "ptb_small/lstm/seqtasks_keras+no_unroll": ("ptb_small", "seqtasks_keras",
                                                {"unroll": False}),
    "ptb_small/lstm/seqtasks_fused+onednn_off": ("ptb_small", "seqtasks_fused",
                                                 {"onednn": False}),
    "ptb_small/lstm/seqtasks_keras+onednn_off": ("ptb_small", "seqtasks_keras",
                                                 {"onednn": False}),
    "ptb_small/lstm/seqtasks_fused+intra_op_1": ("ptb_small", "seqtasks_fused",
                                                 {"intra_op": 1}),
    "char/lstm/seqtasks_fused+onednn_off": ("char", "seqtasks_fused", {"onednn": False}),
}


def token_ids(shape: dict, n_windows: int, synthetic: bool) -> np.ndarray:
    """Exactly ``n_windows`` windows of every stream (+1 id for the last target)."""
    n = shape["batch"] * shape["steps"] * n_windows + 1
    if synthetic or shape["data"] != "PTB train ids" or not PTB_TRAIN.exists():
        return np.random.default_rng(0).integers(4, shape["vocab"], n).astype("int32")
    words = PTB_TRAIN.read_text(encoding="utf-8").replace("\n", " <eos> ").split()
    index: dict[str, int] = {}
    ids = np.array([index.setdefault(w, len(index)) for w in words[:n]], "int32")
    if len(ids) < n:
        sys.exit(f"bench: {PTB_TRAIN} has fewer than {n} words; lower --windows or --synthetic")
    # Ids 0-3 are the pipeline's PAD, UNK, BOS and EOS: never inside a training stream.
    return 4 + ids % (shape["vocab"] - 4)


def keras_trainer(ids: np.ndarray, shape: dict, cell: str, framework: str, unroll: bool):
    """The pipeline's trainer and windows -> ``train(n)``: one ``fit`` over the first n windows."""
    import keras

    from pipelines import language_model as lm
    from seqtasks import config as config_lib
    from seqtasks.layers import recurrent
    from seqtasks.training import fit_task, tbptt

    stock = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}
    if framework == "stock_keras":  # this process only: the builder makes Keras' own layers
        recurrent.CELLS[cell] = lambda units, **kw: stock[cell](units, use_cudnn=False, **kw)
    if not unroll:  # this process only: the While loops instead of the trainer's unrolled steps
        tbptt.unrolled = contextlib.nullcontext
    config = config_lib.replace(
        lm.LanguageModelConfig(), cell=cell, embedding_dim=shape["embedding_dim"],
        units=shape["units"], num_layers=shape["num_layers"], tie_embeddings=False, dropout=0.0,
        optimizer=TRAINING["optimizer"], learning_rate=TRAINING["learning_rate"],
        clipnorm=TRAINING["clipnorm"], batch_size=shape["batch"], bptt_steps=shape["steps"],
        rnn_kernel="fused" if framework in ("seqtasks_fused", "seqtasks_torch") else "keras")
    keras.utils.set_random_seed(0)
    windows = lm.windows(config, ids)
    n_windows = int(windows.cardinality())
    trainer = lm.build_trainer(config, shape["vocab"])
    fit_task.compile_model(lm.TASK, config, trainer, n_windows)

    def train(n: int) -> None:
        trainer.fit(windows.take(n), epochs=1, verbose=0, shuffle=False)

    return train, n_windows


def torch_trainer(ids: np.ndarray, shape: dict, cell: str):
    """The PyTorch model -> ``train(n)``: the training loop over the first n windows."""
    import torch
    from torch import nn

    torch.manual_seed(0)
    recurrent = {"lstm": nn.LSTM, "gru": nn.GRU}[cell]

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(shape["vocab"], shape["embedding_dim"])
            self.rnn = recurrent(shape["embedding_dim"], shape["units"], shape["num_layers"],
                                 batch_first=True)
            self.output = nn.Linear(shape["units"], shape["vocab"])

        def forward(self, x, state):
            y, state = self.rnn(self.embedding(x), state)
            return self.output(y), state

    model = Model()
    optimizer = torch.optim.SGD(model.parameters(), lr=TRAINING["learning_rate"])
    loss_fn = nn.CrossEntropyLoss()
    batch, steps = shape["batch"], shape["steps"]
    # Stream b is the b-th contiguous slice of the ids, as in the pipeline's StreamLayout.
    streams = torch.from_numpy(ids[:-1].reshape(batch, -1).astype("int64"))
    targets = torch.from_numpy(ids[1:].reshape(batch, -1).astype("int64"))
    n_windows = streams.shape[1] // steps

    def detached(state):
        return tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()

    def train(n: int) -> None:
        state = None
        for w in range(n):
            x = streams[:, w * steps:(w + 1) * steps]
            y = targets[:, w * steps:(w + 1) * steps]
            if state is not None:
                state = detached(state)
            logits, state = model(x, state)
            loss = loss_fn(logits.reshape(-1, shape["vocab"]), y.reshape(-1))
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), TRAINING["clipnorm"])
            optimizer.step()

    return train, n_windows


def stock_model(shape: dict, cell: str):
    """Stock Keras layers of ``shape`` (``Embedding`` -> ``LSTM`` / ``GRU`` x layers ->
    ``Dense``), compiled with SGD and global-norm clipping: the ``keras_jax`` contender's model,
    on whichever backend this process runs (``bench/jax_export.py`` builds it on both)."""
    import keras

    keras.utils.set_random_seed(0)
    recurrent = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}[cell]
    inputs = keras.Input((shape["steps"],), dtype="int32")
    x = keras.layers.Embedding(shape["vocab"], shape["embedding_dim"])(inputs)
    for _ in range(shape["num_layers"]):
        x = recurrent(shape["units"], return_sequences=True)(x)
    model = keras.Model(inputs, keras.layers.Dense(shape["vocab"])(x))
    model.compile(optimizer=keras.optimizers.SGD(TRAINING["learning_rate"],
                                                 global_clipnorm=TRAINING["clipnorm"]),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def window_arrays(ids: np.ndarray, shape: dict) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and targets [windows * batch, steps]: window w of every stream, in order, is rows
    [w * batch, (w + 1) * batch)."""
    batch, steps = shape["batch"], shape["steps"]
    streams = ids[:-1].reshape(batch, -1)
    targets = ids[1:].reshape(batch, -1)
    n_windows = streams.shape[1] // steps
    return tuple(np.concatenate([rows[:, w * steps:(w + 1) * steps] for w in range(n_windows)])
                 for rows in (streams, targets))


def jax_trainer(ids: np.ndarray, shape: dict, cell: str):
    """Stock Keras layers on the JAX backend (this process runs with KERAS_BACKEND=jax)."""
    model = stock_model(shape, cell)
    x_windows, y_windows = window_arrays(ids, shape)
    batch = shape["batch"]

    def train(n: int) -> None:
        model.fit(x_windows[:n * batch], y_windows[:n * batch], batch_size=batch, epochs=1,
                  shuffle=False, verbose=0)

    return train, len(x_windows) // batch


def measure(spec: dict) -> dict:
    """In this (fresh) process: warm up, then time ``spec["windows"]`` training steps."""
    shape = SHAPES[spec["shape"]]
    ids = token_ids(shape, spec["windows"], spec["synthetic"])
    if spec["malloc"] == "keep":  # first: before any large allocation
        from seqtasks.training import malloc

        malloc.keep_freed_memory()
    if spec["framework"] == "pytorch":
        import torch

        torch.set_num_threads(spec["intra_op"])
        torch.backends.mkldnn.enabled = spec["mkldnn"]
        train, available = torch_trainer(ids, shape, spec["cell"])
    elif spec["framework"] == "keras_jax":
        train, available = jax_trainer(ids, shape, spec["cell"])
    elif spec["framework"] == "seqtasks_torch":  # KERAS_BACKEND=torch in this process
        import torch

        torch.set_num_threads(spec["intra_op"])
        train, available = keras_trainer(ids, shape, spec["cell"], spec["framework"], True)
    else:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(spec["intra_op"])
        tf.config.threading.set_inter_op_parallelism_threads(spec["inter_op"])
        train, available = keras_trainer(ids, shape, spec["cell"], spec["framework"],
                                         spec["unroll"])
    if available != spec["windows"]:
        raise RuntimeError(f"{spec}: {available} windows from the ids, expected "
                           f"{spec['windows']}")
    train(spec["warmup"])  # not timed: tracing, first allocations
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    train(spec["windows"])
    seconds = time.perf_counter() - start
    tokens = spec["windows"] * shape["batch"] * shape["steps"]
    return {"seconds": seconds, "tokens_per_second": tokens / seconds,
            "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)]}


def jax_version(python: str) -> str:
    out = subprocess.run([python, "-c", "import jax; print(jax.__version__)"],
                         capture_output=True, text=True)
    return out.stdout.strip() or "unknown"


def summary(values: list[float], digits: int = 1) -> dict:
    return {"median": round(statistics.median(values), digits),
            "min": round(min(values), digits), "max": round(max(values), digits)}


def default_malloc(framework: str) -> str:
    return "keep" if framework in OUR_TRAINERS else "default"


def plan(args, frameworks: list[str]) -> dict[str, dict]:
    """Every measurement: name -> the spec its child process gets."""
    base = {"warmup": args.warmup, "synthetic": args.synthetic, "jax_python": args.jax_python,
            "intra_op": args.threads,
            "inter_op": args.threads, "unroll": True, "onednn": True, "mkldnn": True}
    windows = {"ptb_small": args.windows, "char": args.char_windows}
    specs = {}
    for shape in args.only or SHAPES:
        for cell in CELLS:
            for framework in frameworks:
                specs[f"{shape}/{cell}/{framework}"] = {
                    **base, "shape": shape, "cell": cell, "framework": framework,
                    "windows": windows[shape], "malloc": default_malloc(framework)}
    if not args.no_levers:
        for name, (shape, framework, changes) in LEVERS.items():
            if shape in (args.only or SHAPES) and framework in frameworks:
                specs[name] = {**base, "shape": shape, "cell": name.split("/")[1],
                               "framework": framework, "windows": windows[shape],
                               "malloc": default_malloc(framework), **changes}
    return specs


def run_child(spec: dict) -> dict:
    env = dict(os.environ)
    env["TF_ENABLE_ONEDNN_OPTS"] = "1" if spec["onednn"] else "0"
    python = sys.executable
    if spec["framework"] == "seqtasks_torch":
        env["KERAS_BACKEND"] = "torch"
    if spec["framework"] == "keras_jax":
        python = spec["jax_python"]
        env.update(KERAS_BACKEND="jax", JAX_PLATFORMS="cpu",
                   # XLA's CPU thread pool: the same number of threads as the others get.
                   XLA_FLAGS=f"--xla_cpu_multi_thread_eigen=true "
                             f"intra_op_parallelism_threads={spec['intra_op']}")
    return common.child_result(__file__, spec, env, python)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--windows", type=int, default=25,
                        help="timed PTB-small windows (steps) per measurement (default 25)")
    parser.add_argument("--char-windows", type=int, default=3,
                        help="timed char-LM windows per measurement (default 3)")
    parser.add_argument("--warmup", type=int, default=2,
                        help="untimed warm-up windows before them (default 2)")
    parser.add_argument("--repeats", type=int, default=2, help="rounds of every measurement")
    parser.add_argument("--lever-repeats", type=int, default=1,
                        help="of those rounds, how many also measure the LEVERS (default 1)")
    parser.add_argument("--threads", type=int, default=os.cpu_count(),
                        help="intra- and inter-op threads (PyTorch: set_num_threads)")
    parser.add_argument("--only", choices=SHAPES, nargs="+", help="measure these shapes only")
    parser.add_argument("--no-levers", action="store_true", help="skip the LEVERS variants")
    parser.add_argument("--synthetic", action="store_true", help="random ids instead of PTB")
    parser.add_argument("--jax-python", metavar="PY",
                        help="a Python with jax and keras: adds the keras_jax contender")
    common.add_arguments(parser, config=False, out=False, child=True)
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if common.answer_child(args, measure):
        return
    if min(args.windows, args.char_windows, args.warmup, args.repeats, args.threads) < 1:
        parser.error("--windows, --char-windows, --warmup, --repeats and --threads must be >= 1")
    if args.warmup > min(args.windows, args.char_windows):
        # The warm-up trains the first of the timed windows; PyTorch fails on an empty slice.
        parser.error(f"--warmup {args.warmup} is more than --windows / --char-windows "
                     f"({args.windows} / {args.char_windows}); lower it or raise them")

    frameworks = list(FRAMEWORKS)
    skipped = None
    if importlib.util.find_spec("torch") is None:
        frameworks.remove("pytorch")
        frameworks.remove("seqtasks_torch")
        skipped = ("skipped: torch is not importable here (pip install torch "
                   "--index-url https://download.pytorch.org/whl/cpu)")
        common.log(f"pytorch {skipped}")
    if not args.jax_python:
        frameworks.remove("keras_jax")
    specs = plan(args, frameworks)
    runs: dict[str, list[dict]] = {name: [] for name in specs}
    for repeat in range(args.repeats):
        for name, spec in specs.items():
            if "+" in name and repeat >= args.lever_repeats:
                continue
            runs[name].append(run_child(spec))
            common.log(f"round {repeat + 1}/{args.repeats} {name}: "
                       f"{runs[name][-1]['tokens_per_second']:,.0f} tokens/s "
                       f"(load {runs[name][-1]['load_average_1min']})")

    measurements = {}
    for name, spec in specs.items():
        rates = [r["tokens_per_second"] for r in runs[name]]
        seconds = [r["seconds"] for r in runs[name]]
        measurements[name] = {
            "description": DESCRIPTIONS[spec["framework"]],
            "settings": {k: spec[k] for k in ("intra_op", "inter_op", "unroll", "onednn",
                                              "mkldnn", "malloc")},
            "tokens_per_second": [round(x, 1) for x in rates],
            "seconds": [round(x, 3) for x in seconds],
            "load_average_1min": [r["load_average_1min"] for r in runs[name]],
            **{f"{k}_tokens_per_second": v for k, v in summary(rates).items()},
            **{f"{k}_seconds": v for k, v in summary(seconds, 3).items()},
        }
    median = {name: m["median_tokens_per_second"] for name, m in measurements.items()}

    def ratio(a: str, b: str):
        return round(median[a] / median[b], 3) if a in median and b in median else None

    ratios = {}
    for shape in args.only or SHAPES:
        for cell in CELLS:
            key = f"{shape}/{cell}"
            ours = "seqtasks_fused"
            # Its best thread setting; its oneDNN-off lever is a diagnosis, not a contender.
            torch_runs = [n for n in specs if n.startswith(f"{key}/pytorch")
                          and not n.endswith("+mkldnn_off")]
            best_torch = max(torch_runs, key=median.get) if torch_runs else None
            # What a user gets picking train_backend for the shape: the faster of the two.
            backends = {"tensorflow": f"{key}/{ours}", "torch": f"{key}/seqtasks_torch"}
            best_backend = max((b for b in backends if backends[b] in median),
                               key=lambda b: median[backends[b]])
            ratios[key] = {
                f"{ours}_over_pytorch": ratio(f"{key}/{ours}", f"{key}/pytorch"),
                "seqtasks_torch_over_pytorch": ratio(f"{key}/seqtasks_torch", f"{key}/pytorch"),
                "seqtasks_torch_over_pytorch_best": ratio(f"{key}/seqtasks_torch", best_torch)
                if best_torch else None,
                "best_train_backend": best_backend,
                "best_train_backend_over_pytorch": ratio(backends[best_backend],
                                                         f"{key}/pytorch"),
                "best_train_backend_over_pytorch_best": ratio(backends[best_backend],
                                                              best_torch) if best_torch
                else None,
                "pytorch_best_setting": best_torch,
                f"{ours}_over_pytorch_best": ratio(f"{key}/{ours}", best_torch) if best_torch
                else None,
                f"{ours}_over_pytorch_mkldnn_off": ratio(f"{key}/{ours}",
                                                         f"{key}/pytorch+mkldnn_off"),
                "seqtasks_keras_over_pytorch": ratio(f"{key}/seqtasks_keras", f"{key}/pytorch"),
                "stock_keras_over_pytorch": ratio(f"{key}/stock_keras", f"{key}/pytorch"),
                f"{ours}_over_stock_keras": ratio(f"{key}/{ours}", f"{key}/stock_keras"),
                "keras_jax_over_pytorch": ratio(f"{key}/keras_jax", f"{key}/pytorch"),
                f"{ours}_over_keras_jax": ratio(f"{key}/{ours}", f"{key}/keras_jax")}
    levers = {name: {"over_default": ratio(name, name.split("+")[0]),
                     "default": name.split("+")[0]}
              for name in specs if "+" in name}

    versions = {}
    for name in ("tensorflow", "keras", "torch"):
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    common.write_result("lm-throughput", {
        "benchmark": "lm_throughput", "shapes": SHAPES, "training": TRAINING,
        "windows_per_measurement": {"ptb_small": args.windows, "char": args.char_windows},
        "warmup_windows": args.warmup, "repeats": args.repeats,
        "lever_repeats": args.lever_repeats, "threads": args.threads,
        "synthetic": args.synthetic,
        "timing": ("wall clock (time.perf_counter) around the same timed windows for every "
                   "measurement, in a fresh process per measurement, after untimed warm-up "
                   "windows; all measurements alternate within each round; the CPU is shared "
                   "with other work (load average per measurement)"),
        "pytorch": skipped or "measured",
        "keras_jax": (f"measured with {args.jax_python} (jax {jax_version(args.jax_python)})"
                      if args.jax_python else "not measured (no --jax-python)"),
        "measurements": measurements,
        "median_tokens_per_second": median,
        "ratios": ratios,
        "levers": levers,
        "versions": versions,
    }, args.results)


if __name__ == "__main__":
    main()
