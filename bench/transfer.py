"""Transfer benchmark: random initialisation vs pretrained word vectors, same recipe, same budget.

Run by hand from the repository root, one part at a time (not part of the tests):

    python bench/transfer.py --only vectors           # seqtasks pretrain vectors (defaults)
    python bench/transfer.py --only sst2,mr           # each: random, then vectors
    python bench/transfer.py --only conll2003
    python bench/transfer.py --only sst2 --vectors V  # reuse vectors made before

Every row is one ``seqtasks train`` command (the CLI, in a fresh process), run exactly as the
README quotes it: the part's recipe, and for the ``vectors`` row ``--set embeddings=V`` and
nothing else. ``vectors`` runs ``seqtasks pretrain vectors --corpus
../shared/data/unlabelled/imdb_unsup.txt ../shared/data/unlabelled/enwiki_2015_sample.txt --out
V`` with its defaults and records its cost (minutes, corpus words).

Writes bench/results/transfer-<part>.json (rows: init, metric, value, train minutes, command,
coverage of the training tokens by the vectors) and prints it as one JSON line.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import common

PARTS = {  # part: (task, recipe, data folder, train file, valid file, metric key, metric name)
    "sst2": ("sentiment", "recipes/sst2.yaml", "sst2", "train.tsv", "valid.tsv", "accuracy",
             "validation accuracy"),
    "mr": ("sentiment", "recipes/mr.yaml", "mr", "train.tsv", "valid.tsv", "accuracy",
           "validation accuracy"),
    "conll2003": ("ner", "recipes/conll2003.yaml", "conll2003", "train.txt", "valid.txt", "f1",
                  "validation entity F1"),
}
CORPUS = ("unlabelled/imdb_unsup.txt", "unlabelled/enwiki_2015_sample.txt")
VECTORS_RESULT = "transfer-vectors"
log = common.log


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--only", required=True,
                        help=f"comma-separated parts: vectors,{','.join(PARTS)}")
    parser.add_argument("--vectors", type=Path, default=None,
                        help="vectors file (default: OUT/vectors.txt, made by the vectors part)")
    parser.add_argument("--inits", default="random,vectors",
                        help="rows per part (default: random,vectors)")
    common.add_arguments(parser, config=False)
    args = parser.parse_args(argv)
    args.parts = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = [p for p in args.parts if p not in ("vectors", *PARTS)]
    if unknown:
        parser.error(f"--only: unknown part(s) {', '.join(unknown)}")
    args.inits = [i.strip() for i in args.inits.split(",") if i.strip()]
    return args


def run(command: list[str]) -> float:
    """Run a seqtasks command in a fresh process; its wall-clock minutes."""
    log("$ " + " ".join(command))
    start = time.monotonic()
    subprocess.run([sys.executable, "-m", "pipelines.cli", *command], check=True,
                   cwd=common.REPO)
    return round((time.monotonic() - start) / 60, 2)


def pretrain(args, vectors: Path) -> None:
    start = common.started()
    corpus = [str(common.DATA / name) for name in CORPUS]
    command = ["pretrain", "vectors", "--corpus", *corpus, "--out", str(vectors), "--quiet"]
    out = subprocess.run([sys.executable, "-m", "pipelines.cli", *command], check=True,
                         cwd=common.REPO, capture_output=True, text=True).stdout
    facts = json.loads(out.strip().splitlines()[-1])
    common.write_result(VECTORS_RESULT, {
        "what": "seqtasks pretrain vectors with its defaults on the shared unlabelled text",
        "command": "seqtasks " + " ".join(command), **facts}, args.results, start)


def measure(args, part: str, vectors: Path) -> None:
    task, recipe, folder, train, valid, key, metric = PARTS[part]
    start = common.started()
    data = common.DATA / folder
    rows = []
    for init in args.inits:
        out = common.work_dir(args, f"transfer-{part}") / init
        command = ["train", task, "--config", recipe, "--train", str(data / train),
                   "--valid", str(data / valid), "--out", str(out), "--quiet"]
        if init == "vectors":
            command += ["--set", f"embeddings={vectors}"]
        wall = run(command)
        export = sorted(out.iterdir(), key=lambda p: int(p.name) if p.name.isdigit() else -1)[-1]
        metadata = common.read_metadata(export)
        training = metadata["training"]
        rows.append({"init": init, "metric": metric, "value": metadata["metrics"][key],
                     "train_minutes": round(training["train_seconds"] / 60, 2),
                     "wall_minutes": wall, "epochs_run": training["epochs_run"],
                     "best_epoch": training.get("best_epoch"),
                     "stopped_by": training["stopped_by"],
                     "embeddings": training.get("embeddings"),
                     "command": "seqtasks " + " ".join(command)})
        log(f"{part} {init}: {metric} {rows[-1]['value']:.4f}")
    pretraining = None
    vectors_result = Path(args.results) / f"{VECTORS_RESULT}.json"
    if vectors_result.is_file():
        facts = json.loads(vectors_result.read_text())
        pretraining = {k: facts[k] for k in ("minutes", "corpus_words", "vectors", "dim",
                                             "method", "epochs")}
    common.write_result(f"transfer-{part}", {"task": task, "data": folder, "recipe": recipe,
                                             "rows": rows, "pretraining": pretraining},
                        args.results, start)


def main(argv=None) -> None:
    args = parse_args(argv)
    vectors = args.vectors or common.work_dir(args, "transfer") / "vectors.txt"
    if "vectors" in args.parts:
        pretrain(args, vectors)
    for part in args.parts:
        if part in PARTS:
            if "vectors" in args.inits and not vectors.is_file():
                sys.exit(f"bench: no vectors at {vectors}: run --only vectors first or pass "
                         "--vectors FILE")
            measure(args, part, vectors)


if __name__ == "__main__":
    main()
