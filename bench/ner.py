"""CoNLL-2003 English NER from scratch: validation entity F1, training time and speed, and the
exported model's tagging speed.

Run by hand from the repository root (not part of the tests; 15 minutes of training by the
recipe, plus evaluation and export):

    python bench/ner.py                              # recipes/conll2003.yaml (15-minute budget)
    python bench/ner.py --set output=softmax cell=gru time_budget=30
    python bench/ner.py --set time_budget=0.3 --results /tmp/benchsmoke   # smoke run

Recipe: recipes/conll2003.yaml (``--config FILE`` for another, ``--set KEY=VALUE ...`` on top).
Data: ../shared/data/conll2003/{train,valid}.txt (research use only; never copied into the repo).

Writes bench/results/ner-conll2003.json (also printed as one JSON line, the last line of
stdout): ``validation`` (the pipeline's seqeval entity metrics on the validation file, strict
matching, fractions: f1, precision, recall, per_type, token_accuracy), ``training`` (the export's
training summary: train_seconds, epochs_run, best_epoch, stopped_by, train_tokens_per_second),
``history`` (per-epoch curves, val_entity_f1 among them) and ``inference_tokens_per_second``
(tokens/s through the export's ``tag_tokens`` and ``serving_default`` signatures, the
predictor's batches of 256, best of the repeats). The export goes to a temporary folder (or
--out DIR), never under bench/results.
"""

from __future__ import annotations

import argparse
import os
import time

import common

DATA = common.DATA / "conll2003"
RECIPE = "recipes/conll2003.yaml"


def inference_speed(predictor, sentences: list[list[str]], repeats: int = 2) -> dict:
    """Tokens per second through both signatures of the export (batch 256, best of repeats)."""
    texts = [" ".join(tokens) for tokens in sentences]
    n_tokens = sum(len(tokens) for tokens in sentences)
    predictor.tag_tokens(sentences[:256])  # warm-up: the first call optimises the graph
    predictor.predict(texts[:256])
    timings = {"tag_tokens": [], "serving_default": []}
    for _ in range(repeats):
        start = time.perf_counter()
        predictor.tag_tokens(sentences)
        timings["tag_tokens"].append(time.perf_counter() - start)
        start = time.perf_counter()
        rows = predictor.predict(texts)
        timings["serving_default"].append(time.perf_counter() - start)
    text_tokens = sum(len(row["tokens"]) for row in rows)
    return {"tag_tokens": round(n_tokens / min(timings["tag_tokens"]), 1),
            "serving_default": round(text_tokens / min(timings["serving_default"]), 1),
            "batch_size": 256, "repeats": repeats, "sentences": len(sentences)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    common.add_arguments(parser, RECIPE)
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

    from pipelines import ner
    from seqtasks import load

    config, entries = common.resolve_config(ner.NerConfig, common.recipe_path(args, RECIPE),
                                            args.overrides)
    out = common.work_dir(args, "ner")
    common.log(f"training (time budget {config.time_budget} min) into {out}")
    start = time.monotonic()
    export_dir = ner.train(config, DATA / "train.txt", DATA / "valid.txt", out, verbose=0)
    wall = time.monotonic() - start
    metadata = common.read_metadata(export_dir)
    valid = ner.read(config, DATA / "valid.txt")
    speed = inference_speed(load(export_dir), valid.tokens)
    metrics = metadata["metrics"]
    common.log(f"entity F1 {metrics['f1']:.4f} after {metadata['training']['epochs_run']} epochs")
    common.write_result("ner-conll2003", {
        "benchmark": "ner_conll2003",
        "data": {"train": str(DATA / "train.txt"), "valid": str(DATA / "valid.txt")},
        **entries,
        "validation": metrics,
        **common.training_entries(metadata),
        "train_wall_seconds": round(wall, 1),
        "inference_tokens_per_second": speed,
        "export_dir": str(export_dir),
    }, args.results)


if __name__ == "__main__":
    main()
