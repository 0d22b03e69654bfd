"""CoNLL-2003 English NER from scratch: validation entity F1, training time and speed, and the
exported model's inference speed at batch 256. Prints one JSON object (last line of stdout).

    python bench/ner.py                              # NerConfig defaults, time_budget=15 minutes
    python bench/ner.py --set output=softmax cell=gru time_budget=30

Data: ../shared/data/conll2003/{train,valid}.txt (research use only; never copied into the repo).
The export is kept under bench/results/ (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "conll2003"
RESULTS = ROOT / "bench" / "results"
DEFAULTS = ["time_budget=15"]


def inference_speed(predictor, sentences: list[list[str]], repeats: int = 2) -> dict:
    """Tokens per second through both signatures of the export (batch 256, best of repeats)."""
    texts = [" ".join(tokens) for tokens in sentences]
    n_tokens = sum(len(tokens) for tokens in sentences)
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
            "serving_default": round(text_tokens / min(timings["serving_default"]), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                        help="config overrides (default: time_budget=15)")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

    from pipelines import ner
    from seqtasks import config as config_lib
    from seqtasks import load

    overrides = DEFAULTS + args.set
    config = config_lib.resolve(ner.NerConfig, overrides=overrides)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = Path(tempfile.mkdtemp(prefix="ner-", dir=RESULTS))
    export_dir = ner.train(config, DATA / "train.txt", DATA / "valid.txt", out, verbose=0)
    metadata = json.loads((export_dir / "seqtasks.json").read_text())
    metrics, training = metadata["metrics"], metadata["training"]
    valid = ner.read(config, DATA / "valid.txt")
    speed = inference_speed(load(export_dir), valid.tokens)
    print(json.dumps({
        "bench": "ner_conll2003",
        "overrides": overrides,
        "valid_f1": round(100 * metrics["f1"], 2),
        "valid_precision": round(100 * metrics["precision"], 2),
        "valid_recall": round(100 * metrics["recall"], 2),
        "valid_token_accuracy": round(100 * metrics["token_accuracy"], 2),
        "valid_f1_per_type": {k: round(100 * v["f1"], 2) for k, v in metrics["per_type"].items()},
        "train_seconds": training["train_seconds"],
        "epochs_run": training["epochs_run"],
        "best_epoch": training["best_epoch"],
        "stopped_by": training["stopped_by"],
        "train_tokens_per_second": training["train_tokens_per_second"],
        "valid_f1_curve": [round(100 * f, 2) for f in training["history"]["val_entity_f1"]],
        "inference_tokens_per_second_batch256": speed,
        "cpu_threads": os.cpu_count(),
        "export_dir": str(export_dir.relative_to(ROOT)),
    }))


if __name__ == "__main__":
    main()
