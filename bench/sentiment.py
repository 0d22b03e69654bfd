"""Sentiment benchmark: train from scratch on SST-2 and MR, time the exports, compare cells.

Run by hand from the repository root, one training at a time (not part of the tests; all three
parts take about 35-45 min on 2 cores):

    python bench/sentiment.py                       # all parts: sst2, mr, cells
    python bench/sentiment.py --only sst2 --set time_budget=5
    python bench/sentiment.py --only cells --cells-budget 2
    python bench/sentiment.py --only sst2 --set time_budget=0.3 epochs=1 --results /tmp/benchsmoke

Recipes: sst2 trains recipes/sst2.yaml on ../shared/data/sst2, mr trains recipes/mr.yaml on
../shared/data/mr, cells trains recipes/sst2.yaml (time_budget = --cells-budget) once per cell
(rnn, lstm, peephole_lstm, gru) x bidirectional (false, true) through ``seqtasks compare``.
``--config FILE`` replaces the recipe of every part run, ``--set KEY=VALUE ...`` overrides it
(and wins over --cells-budget).

Writes one result file per part: bench/results/sentiment-sst2.json, sentiment-mr.json and
sentiment-cells.json (plus the comparison's report as sentiment-cells.md and
sentiment-cells-*.png), each also printed as one JSON line on stdout; progress goes to stderr.
Exports go to a temporary folder (or --out DIR), never under bench/results. Every number is
measured by this run; nothing is hard-coded.

What is measured:
- ``validation``: the pipeline's metrics on the validation file through the serving function
  (accuracy, macro_f1 as fractions, per class, confusion matrix). The pipeline early-stops on
  validation accuracy and restores the best epoch, so these are model-selection numbers on the
  validation set, not held-out test numbers.
- ``training``: the export's training summary; ``train_tokens_per_second`` is the pipeline's own
  figure (tokens of one epoch / batches per epoch x batches trained / seconds inside training
  batches), right for epochs cut short by the time budget too.
- ``export_throughput``: the SavedModel loaded in this process (tf.saved_model.load after
  importing tensorflow_text), its ``serving_default`` called on real validation sentences at
  batch 1 and 256, after a warm-up; median (and best) sentences per second over the repeats.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import common

RECIPES = {"sst2": "recipes/sst2.yaml", "mr": "recipes/mr.yaml", "cells": "recipes/sst2.yaml"}
DATA_SETS = {"sst2": "sst2", "mr": "mr", "cells": "sst2"}
CELLS = ("rnn", "lstm", "peephole_lstm", "gru")
PARTS = ("sst2", "mr", "cells")
THROUGHPUT_BATCHES = (1, 256)
log = common.log


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--data-root", type=Path, default=common.DATA,
                        help="folder holding sst2/ and mr/ (default: ../shared/data relative to "
                             "the repository root)")
    parser.add_argument("--only", default=",".join(PARTS),
                        help=f"comma-separated parts to run, from {','.join(PARTS)} (default: all)")
    parser.add_argument("--cells-budget", type=float, default=2.5, metavar="MIN",
                        help="time_budget of every run of the cell comparison (default 2.5; "
                             "8 runs, about 25 min in all with loading and export)")
    parser.add_argument("--repeats", type=int, default=5,
                        help="timed repeats per throughput measurement (default 5)")
    common.add_arguments(parser, "recipes/sst2.yaml (sst2, cells) or recipes/mr.yaml (mr)")
    args = parser.parse_args(argv)
    parts = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = [p for p in parts if p not in PARTS]
    if unknown or not parts:
        parser.error(f"--only: unknown part(s) {', '.join(unknown) or '(none)'}; "
                     f"choose from {', '.join(PARTS)}")
    args.parts = [p for p in PARTS if p in parts]
    if args.cells_budget <= 0:
        parser.error("--cells-budget must be > 0 minutes")
    if args.repeats < 1:
        parser.error("--repeats must be >= 1")
    args.data_root = args.data_root.resolve()
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
    import importlib

    import tensorflow as tf

    importlib.import_module("tensorflow_text")  # registers the tokenizer ops the graph uses
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


def parameter_counts(metadata: dict) -> dict:
    """Trainable parameters (the training summary's count), of which the embedding matrix."""
    total = metadata["training"]["parameters"]
    embedding = metadata["vocab_size"] * metadata["config"]["embedding_dim"]
    return {"params": total, "params_embedding": embedding,
            "params_non_embedding": total - embedding}


def train_timed(config, train_path: Path, valid_path: Path, out_dir: Path,
                verbose=0) -> tuple[Path, float]:
    """``sentiment.train`` -> (export dir, wall seconds of the whole call)."""
    from pipelines import sentiment

    start = time.monotonic()
    export_dir = sentiment.train(config, train_path, valid_path, out_dir, verbose=verbose)
    return export_dir, time.monotonic() - start


def describe(export_dir: Path, wall: float) -> dict:
    """What the export's seqtasks.json says about the run."""
    meta = common.read_metadata(export_dir)
    return {
        "validation": meta["metrics"],
        **common.training_entries(meta),
        "train_wall_seconds": round(wall, 1),  # the whole train() call: data, fit, export
        "vocab_size": meta["vocab_size"],
        **parameter_counts(meta),
        "export_dir": str(export_dir),
    }


# --- parts -------------------------------------------------------------------------------------

def main_run(name: str, args, work: Path) -> dict:
    from pipelines import sentiment

    train_path, valid_path = split_paths(args.data_root, DATA_SETS[name])
    config, entries = common.resolve_config(sentiment.SentimentConfig,
                                            common.recipe_path(args, RECIPES[name]),
                                            args.overrides)
    log(f"{name}: training (time budget {config.time_budget} min)")
    export_dir, wall = train_timed(config, train_path, valid_path, work / name)
    result = describe(export_dir, wall)
    result["export_throughput"] = export_throughput(export_dir, read_texts(valid_path),
                                                    args.repeats)
    log(f"{name}: val accuracy {result['validation']['accuracy']:.4f} after "
        f"{result['training']['epochs_run']} epochs, {result['train_wall_seconds']} s")
    return {"benchmark": "sentiment", "part": name,
            "data": {"train": str(train_path), "valid": str(valid_path)},
            **entries, **result}


def cells_run(args, work: Path, results_dir: Path) -> dict:
    """The cell comparison, through ``seqtasks compare`` (its report: WORK/cells/report.md,
    results.csv, learning_curves.png; copied as sentiment-cells.md / .png). The same table
    without this script's extra measurements: ``seqtasks compare sentiment --config
    recipes/sst2.yaml --train .../sst2/train.tsv --valid .../sst2/valid.tsv --grid
    cell=rnn,lstm,peephole_lstm,gru bidirectional=false,true --time-budget 2.5 --out DIR``."""
    from pipelines import sentiment
    from seqtasks.experiments import compare

    train_path, valid_path = split_paths(args.data_root, DATA_SETS["cells"])
    overrides = [f"time_budget={args.cells_budget}", *args.overrides]
    base, entries = common.resolve_config(sentiment.SentimentConfig,
                                          common.recipe_path(args, RECIPES["cells"]), overrides)
    grid = {"cell": list(CELLS), "bidirectional": ["false", "true"]}
    runs = compare.grid_runs(base, grid)
    walls = {}

    def train(config, train_path, valid_path, out_dir, verbose=0):
        log(f"cells: {out_dir.name} (time budget {config.time_budget} min)")
        export_dir, walls[out_dir.name] = train_timed(config, train_path, valid_path, out_dir,
                                                      verbose)
        return export_dir

    start = time.monotonic()
    rows = compare.run_all(train, runs, train_path, valid_path, work / "cells", log=log,
                           main_score=sentiment.TASK.main_score)
    report = compare.write_report(sentiment.TASK, rows, runs, work / "cells",
                                  {"data": str(train_path.parent), "seed": base.seed,
                                   "time budget per run (min)": base.time_budget},
                                  valid_path)
    results = []
    for run, row in zip(runs, rows):
        result = describe(Path(row["export"]), walls.get(run.name, float("nan")))
        log(f"cells: {run.name} val accuracy {result['validation']['accuracy']:.4f}, "
            f"{result['training']['epochs_run']} epochs ({result['training']['stopped_by']}), "
            f"{result['training']['train_tokens_per_second']} tokens/s")
        results.append({"run": run.name, "cell": run.config.cell,
                        "bidirectional": run.config.bidirectional, **result})
    return {"benchmark": "sentiment", "part": "cells",
            "data": {"train": str(train_path), "valid": str(valid_path)},
            **entries, "grid": grid, "time_budget_minutes": base.time_budget, "seed": base.seed,
            "wall_seconds": round(time.monotonic() - start, 1),
            "report": common.copy_report(report, "sentiment-cells", results_dir),
            "report_dir": str(report.parent), "runs": results}


def main(argv=None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    work = common.work_dir(args, "sentiment")
    for name in args.parts:
        # A finished export there would be reused as a new version; a half-finished one would be
        # resumed. Both make timings meaningless, so insist on a clean work directory.
        target = work / name
        if target.exists() and any(target.iterdir()):
            sys.exit(f"bench: {target} is not empty; pass a fresh --out")
    log(f"work folder {work}")
    for part in args.parts:
        start = common.started()
        if part == "cells":
            result = cells_run(args, work, args.results)
        else:
            result = main_run(part, args, work)
        common.write_result(f"sentiment-{part}", {**result, "work_dir": str(work)},
                            args.results, start)
    return 0


if __name__ == "__main__":
    sys.exit(main())
