"""Sentiment benchmark: train from scratch on SST-2 and MR, time the exports, compare cells.

Run by hand from the repository root (one training at a time; takes about 35-45 min on 2 cores):

    python bench/sentiment.py                      # all parts: sst2, mr, cells
    python bench/sentiment.py --only sst2 --time-budget 5
    python bench/sentiment.py --only cells --cells-budget 2

Prints one JSON object (last line of stdout) and writes it to bench/results/sentiment.json.
Progress goes to stderr. Every number is measured by this run; nothing is hard-coded.

Notes on what is measured:
- accuracy / macro-F1 are computed by the pipeline on the validation file through the serving
  function. The pipeline also early-stops on validation accuracy and restores the best epoch, so
  these are model-selection numbers on the validation set, not held-out test numbers.
- train_tokens_per_second = real (non-padding) tokens the training batches delivered / the
  pipeline's train_seconds (model.fit, including the per-epoch validation pass). The pipeline's own
  figure (train-set tokens x epochs_run / train_seconds) is kept as
  train_tokens_per_second_pipeline; it counts an epoch cut short by the time budget as a full one,
  so it overstates runs with ``stopped_by: time_budget``.
- export throughput loads the SavedModel in this process (tf.saved_model.load after importing
  tensorflow_text), calls its ``serving_default`` signature on real validation sentences, warms up,
  then times several repeats and reports the median (and best) sentences per second.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"

# Best recipe found for from-scratch training on SST-2 / MR with 2 CPU cores. Tried (4-min budgets,
# seed 42, some repeated with seed 1): dropout 0.3/0.5/0.6/0.7, min_count 1/2/3, pooling
# max/attention/last, embedding 64-300, units 64-128, 1-2 layers, GRU, batch 32/64/128, lr 5e-4 to
# 2e-3, rmsprop, recurrent_dropout 0.3, patience 3/4/6. All landed at 79-81.5 % on SST-2 valid
# (seed-to-seed spread ~1.5 points); heavy dropout + min_count 2 (so [UNK] gets trained) was best on
# average. Everything not listed keeps the library defaults.
RECIPE = {
    "cell": "lstm",
    "bidirectional": True,
    "embedding_dim": 128,
    "units": 128,
    "pooling": "max",
    "dropout": 0.7,
    "min_count": 2,
    "batch_size": 32,
    "learning_rate": 1e-3,
    "early_stopping_patience": 4,
    "epochs": 50,  # upper bound; early stopping or the time budget ends training
    "seed": 42,
}
CELLS = ("rnn", "lstm", "peephole_lstm", "gru")
PARTS = ("sst2", "mr", "cells")
THROUGHPUT_BATCHES = (1, 256)


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-root", type=Path, default=None,
                        help="folder holding sst2/ and mr/ (default: ../shared/data relative to "
                             "the repository root)")
    parser.add_argument("--only", default=",".join(PARTS),
                        help=f"comma-separated parts to run, from {','.join(PARTS)} (default: all)")
    parser.add_argument("--time-budget", type=float, default=20.0,
                        help="minutes of training per main SST-2 / MR run (default 20)")
    parser.add_argument("--cells-budget", type=float, default=2.5,
                        help="minutes of training per run of the cell comparison (default 2.5; "
                             "8 runs, about 25 min in all with loading and export)")
    parser.add_argument("--out", type=Path, default=None,
                        help="work directory for the exports (default: a new temporary folder "
                             "under bench/results/)")
    parser.add_argument("--repeats", type=int, default=5,
                        help="timed repeats per throughput measurement (default 5)")
    args = parser.parse_args(argv)
    parts = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = [p for p in parts if p not in PARTS]
    if unknown or not parts:
        parser.error(f"--only: unknown part(s) {', '.join(unknown) or '(none)'}; "
                     f"choose from {', '.join(PARTS)}")
    args.parts = [p for p in PARTS if p in parts]
    for name in ("time_budget", "cells_budget"):
        if getattr(args, name) <= 0:
            parser.error(f"--{name.replace('_', '-')} must be > 0 minutes")
    if args.repeats < 1:
        parser.error("--repeats must be >= 1")
    args.data_root = (args.data_root if args.data_root is not None
                      else REPO / ".." / "shared" / "data").resolve()
    return args


def split_paths(data_root: Path, name: str) -> tuple[Path, Path]:
    train, valid = data_root / name / "train.tsv", data_root / name / "valid.tsv"
    for path in (train, valid):
        if not path.is_file():
            sys.exit(f"bench: {path} not found (set --data-root)")
    return train, valid


# --- measuring ---------------------------------------------------------------------------------

def read_texts(path: Path) -> list[str]:
    from seqtasks.data.labelled import read_labelled

    return list(read_labelled(path, "text", "label").texts)


def export_throughput(export_dir: Path, texts: list[str], repeats: int) -> dict:
    """Sentences/s of the export's ``serving_default`` at batch 1 and 256, median of repeats."""
    import tensorflow as tf
    import tensorflow_text  # noqa: F401  registers the tokenizer ops used by the graph

    signature = tf.saved_model.load(str(export_dir)).signatures["serving_default"]
    out = {}
    for batch in THROUGHPUT_BATCHES:
        if batch == 1:
            # One sentence per call, over the first 300 validation sentences per repeat.
            calls = [tf.constant([t]) for t in texts[:300]]
        else:
            # Full batches of real sentences, cycling through the validation set (~8 batches).
            n_batches = max(8, -(-len(texts) // batch))
            pool = (texts * (-(-n_batches * batch // len(texts))))[: n_batches * batch]
            calls = [tf.constant(pool[i:i + batch]) for i in range(0, len(pool), batch)]
        n_sentences = sum(int(c.shape[0]) for c in calls)
        for c in calls[: max(3, min(len(calls), 50))]:  # warm-up (traces, allocations)
            signature(text=c)["probabilities"].numpy()
        rates = []
        for _ in range(repeats):
            start = time.perf_counter()
            for c in calls:
                signature(text=c)["probabilities"].numpy()
            rates.append(n_sentences / (time.perf_counter() - start))
        out[f"batch_{batch}"] = {
            "sentences_per_second": round(statistics.median(rates), 1),
            "best_sentences_per_second": round(max(rates), 1),
            "sentences_per_repeat": n_sentences,
            "repeats": repeats,
        }
    return out


def parameter_counts(export_dir: Path) -> dict:
    import numpy as np
    import tensorflow as tf
    import tensorflow_text  # noqa: F401

    loaded = tf.saved_model.load(str(export_dir))
    sizes = {v.name: int(np.prod(v.shape)) for v in loaded.trainable_variables}
    embedding = sum(n for name, n in sizes.items() if name.startswith("embedding/"))
    total = sum(sizes.values())
    return {"params": total, "params_embedding": embedding, "params_non_embedding": total - embedding}


@contextlib.contextmanager
def counting_train_tokens():
    """Count the real (non-padding) tokens the training batches deliver during ``train()``.

    The pipeline's ``train_tokens_per_second`` counts every epoch as a full pass, which
    overstates it when a time budget cuts the last epoch short (as in the cell comparison). This
    wraps ``pipelines.sentiment.datasets`` for the duration of one ``train()`` call so the
    training dataset adds its token count to a variable as Keras consumes it (a prefetched batch
    or two may be counted without being trained on). Yields a function returning the count.
    """
    import tensorflow as tf
    from pipelines import sentiment
    from seqtasks.text.vocab import PAD_ID

    original = sentiment.datasets
    seen = tf.Variable(0, dtype=tf.int64, trainable=False)

    def count(ids, targets):
        update = seen.assign_add(tf.math.count_nonzero(tf.not_equal(ids, PAD_ID), dtype=tf.int64))
        with tf.control_dependencies([update]):
            return tf.identity(ids), targets

    def datasets(config, data):
        train_ds, valid_ds = original(config, data)
        return train_ds.map(count), valid_ds

    sentiment.datasets = datasets
    try:
        yield lambda: int(seen.numpy())
    finally:
        sentiment.datasets = original


def train_counting(config, train_path: Path, valid_path: Path, out_dir: Path,
                   verbose=0) -> tuple[Path, float, int]:
    """``sentiment.train`` -> (export dir, wall seconds of the call, training tokens seen)."""
    from pipelines import sentiment

    start = time.monotonic()
    with counting_train_tokens() as tokens_seen:
        export_dir = sentiment.train(config, train_path, valid_path, out_dir, verbose=verbose)
    return export_dir, time.monotonic() - start, tokens_seen()


def describe(export_dir: Path, wall: float, tokens: int, valid_path: Path, repeats: int,
             throughput: bool = True, params: bool = False) -> dict:
    meta = json.loads((export_dir / "seqtasks.json").read_text(encoding="utf-8"))
    training, metrics = meta["training"], meta["metrics"]
    history = training.get("history", {})
    result = {
        "val_accuracy": round(metrics["accuracy"], 4),
        "val_macro_f1": round(metrics["macro_f1"], 4),
        "n_valid": metrics["n"],
        "train_wall_seconds": round(wall, 1),  # whole train() call: data, fit, evaluate, export
        "train_seconds": training["train_seconds"],  # model.fit only (incl. validation passes)
        "epochs_run": training["epochs_run"],
        "best_epoch": training["best_epoch"],
        "stopped_by": training["stopped_by"],
        # Tokens the training batches delivered / train_seconds (see counting_train_tokens).
        "train_tokens_seen": tokens,
        "train_tokens_per_second": round(tokens / max(training["train_seconds"], 1e-9), 1),
        # The pipeline's own figure (counts a time-budget-cut epoch as a full one).
        "train_tokens_per_second_pipeline": training["train_tokens_per_second"],
        "val_accuracy_per_epoch": [round(v, 4) for v in history.get("val_accuracy", [])],
        "vocab_size": meta["vocab_size"],
        "export_dir": str(export_dir),
    }
    if params:
        result.update(parameter_counts(export_dir))
    if throughput:
        result["export_throughput"] = export_throughput(export_dir, read_texts(valid_path), repeats)
    return result


# --- parts -------------------------------------------------------------------------------------

def main_run(name: str, args, work: Path) -> dict:
    from pipelines import sentiment
    from seqtasks import config as config_lib

    train_path, valid_path = split_paths(args.data_root, name)
    config = config_lib.replace(sentiment.SentimentConfig(), **RECIPE,
                                time_budget=args.time_budget)
    log(f"{name}: training (time budget {args.time_budget} min)")
    trained = train_counting(config, train_path, valid_path, work / name)
    result = describe(*trained, valid_path, args.repeats, params=True)
    log(f"{name}: val accuracy {result['val_accuracy']:.4f} after {result['epochs_run']} epochs, "
        f"{result['train_wall_seconds']} s")
    return {"data": str(train_path.parent), **result}


def cells_run(args, work: Path) -> dict:
    """The cell comparison, through ``seqtasks compare`` (which also writes its report to
    WORK/cells/: report.md, results.csv, learning_curves.png). The same table without this
    script's extra measurements: ``seqtasks compare sentiment --train .../sst2/train.tsv --valid
    .../sst2/valid.tsv --grid cell=rnn,lstm,peephole_lstm,gru bidirectional=false,true
    --time-budget 2.5 --set cell=lstm embedding_dim=128 ... (the RECIPE) --out DIR``."""
    from pipelines import sentiment
    from seqtasks.evaluation import compare
    from seqtasks import config as config_lib

    train_path, valid_path = split_paths(args.data_root, "sst2")
    base = config_lib.replace(sentiment.SentimentConfig(), **RECIPE,
                              time_budget=args.cells_budget)
    runs = compare.grid_runs(base, {"cell": list(CELLS), "bidirectional": ["false", "true"]})
    measured = {}

    def train(config, train_path, valid_path, out_dir, verbose=0):
        log(f"cells: {out_dir.name} (time budget {args.cells_budget} min)")
        export_dir, *measured[out_dir.name] = train_counting(config, train_path, valid_path,
                                                             out_dir, verbose)
        return export_dir

    start = time.monotonic()
    rows = compare.run_all(train, runs, train_path, valid_path, work / "cells", log=log)
    compare.write_report("sentiment", rows, runs, work / "cells",
                         {"data": str(train_path.parent), "seed": base.seed,
                          "time budget per run (min)": args.cells_budget})
    results = []
    for run, row in zip(runs, rows):
        result = describe(Path(row["export"]), *measured[run.name], valid_path, args.repeats,
                          throughput=False, params=True)
        log(f"cells: {run.name} val accuracy {result['val_accuracy']:.4f}, "
            f"{result['epochs_run']} epochs ({result['stopped_by']}), "
            f"{result['train_tokens_per_second']} tokens/s")
        results.append({"cell": run.config.cell, "bidirectional": run.config.bidirectional,
                        **result})
    return {"data": str(train_path.parent), "time_budget_minutes": args.cells_budget,
            "seed": base.seed, "wall_seconds": round(time.monotonic() - start, 1),
            "report": str(work / "cells" / "report.md"), "runs": results}


def environment() -> dict:
    import keras
    import tensorflow as tf

    return {"python": platform.python_version(), "tensorflow": tf.__version__,
            "keras": keras.__version__, "cpu_count": os.cpu_count(),
            "machine": platform.machine(), "platform": platform.platform()}


def main(argv=None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.path.insert(0, str(REPO))  # pipelines/ when run without an editable install
    RESULTS.mkdir(parents=True, exist_ok=True)
    if args.out is None:
        work = Path(tempfile.mkdtemp(prefix="sentiment-", dir=RESULTS))
    else:
        work = args.out.resolve()
        work.mkdir(parents=True, exist_ok=True)
    for name in ("sst2", "mr", "cells"):
        # A finished export there would be reused as a new version; a half-finished one would be
        # resumed. Both make timings meaningless, so insist on a clean work directory.
        target = work / name
        if name in args.parts and target.exists() and any(target.iterdir()):
            sys.exit(f"bench: {target} is not empty; pass a fresh --out")

    started = time.monotonic()
    result = {
        "benchmark": "sentiment",
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]) if argv is None else None,
        "parts": args.parts,
        "recipe": RECIPE,
        "time_budget_minutes": args.time_budget,
        "work_dir": str(work),
    }
    for part in args.parts:
        result[part] = cells_run(args, work) if part == "cells" else main_run(part, args, work)
    result["environment"] = environment()
    result["total_wall_seconds"] = round(time.monotonic() - started, 1)

    text = json.dumps(result, separators=(",", ":"))
    (RESULTS / "sentiment.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    log(f"wrote {RESULTS / 'sentiment.json'}")
    print(text, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
