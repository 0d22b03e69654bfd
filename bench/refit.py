"""Refit benchmark: does exporting a model refit on train + valid (``refit=true``) pay, measured
on data neither row ever saw?

Run by hand from the repository root (not part of the tests):

    python bench/refit.py --only mr                 # the part's GloVe recipe, seeds 42 and 43
    python bench/refit.py --only mr,sst2 --seeds 42,43,44

A refit trains on the validation split, so the validation split cannot score it. Here the
part's training file is split instead (a seeded shuffle of its rows): a held-out slice the size
of the validation file, and the rest. Both rows train the part's GloVe recipe
(``recipes/<part>-glove.yaml``) on the rest and early-stop on the slice; the ``refit`` row then
trains a fresh model on the rest + the slice for the epochs found best (``--set refit=true``).
Both exports are scored on the part's validation file by ``seqtasks evaluate``; per seed, the
two rows differ only in the refit. Sentiment parts (TSV files) only.

Writes bench/results/refit-<part>.json (per seed: both scores, epochs, minutes, commands; the
mean of each row and of their difference) and prints it as one JSON line.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
from pathlib import Path

import common
from transfer import GLOVE_RECIPES, PARTS, latest_export, run

ROWS = {"early_stopped": [], "refit": ["refit=true"]}  # row: --set overrides besides the seed
log = common.log


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--only", required=True, help="comma-separated sentiment parts: "
                        + ",".join(p for p, spec in PARTS.items() if spec[0] == "sentiment"))
    parser.add_argument("--seeds", default="42,43",
                        help="training seeds; each trains both rows (default: 42,43)")
    parser.add_argument("--split-seed", type=int, default=0,
                        help="seed of the shuffle that picks the held-out slice (default: 0)")
    common.add_arguments(parser, config=False)
    args = parser.parse_args(argv)
    args.parts = [p.strip() for p in args.only.split(",") if p.strip()]
    wrong = [p for p in args.parts if p not in PARTS or PARTS[p][0] != "sentiment"]
    if wrong:
        parser.error(f"--only: not a sentiment part: {', '.join(wrong)}")
    try:
        args.seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    except ValueError:
        parser.error(f"--seeds: integers separated by commas, got {args.seeds!r}")
    return args


def hold_out(train: Path, size: int, seed: int, work: Path) -> tuple[Path, Path]:
    """``train``'s rows shuffled with ``seed``: ``size`` of them to a held-out file, the rest to
    a training file, each under the original header."""
    header, *rows = common.file_lines(train, keepends=True)
    random.Random(seed).shuffle(rows)
    rest, held = work / "train-rest.tsv", work / "train-held.tsv"
    rest.write_text(header + "".join(rows[size:]), encoding="utf-8")
    held.write_text(header + "".join(rows[:size]), encoding="utf-8")
    return rest, held


def evaluate(export_root: Path, data: Path, key: str) -> float:
    out = subprocess.run([sys.executable, "-m", "pipelines.cli", "evaluate", str(export_root),
                          "--data", str(data), "--json"], check=True, cwd=common.REPO,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])[key]


def measure(args, part: str) -> None:
    task, _, folder, train, valid, key, metric = PARTS[part]
    start = common.started()
    data = common.DATA / folder
    work = common.work_dir(args, "refit") / part
    work.mkdir(parents=True, exist_ok=True)
    valid_rows = len(common.file_lines(data / valid)) - 1
    rest, held = hold_out(data / train, valid_rows, args.split_seed, work)
    recipe = GLOVE_RECIPES[part]
    seeds = []
    for seed in args.seeds:
        row = {"seed": seed}
        for name, overrides in ROWS.items():
            out = work / f"{name}-{seed}"
            command = ["train", task, "--config", recipe, "--train", str(rest), "--valid",
                       str(held), "--out", str(out), "--quiet", "--set", f"seed={seed}",
                       *overrides]
            wall = run(command)
            training = common.read_metadata(latest_export(out))["training"]
            row[name] = {"value": evaluate(out, data / valid, key), "wall_minutes": wall,
                         "epochs_trained": training.get("refit", {}).get("epochs")
                         or training["epochs_run"], "best_epoch": training.get("best_epoch"),
                         "command": "seqtasks " + " ".join(command)}
            log(f"{part} seed {seed} {name}: {metric} {row[name]['value']:.4f}")
        row["difference"] = round(row["refit"]["value"] - row["early_stopped"]["value"], 4)
        seeds.append(row)
    means = {name: round(statistics.mean(r[name]["value"] for r in seeds), 4) for name in ROWS}
    common.write_result(f"refit-{part}", {
        "task": task, "data": folder, "recipe": recipe, "metric": f"{metric} ({valid})",
        "protocol": f"{train} shuffled (seed {args.split_seed}): {valid_rows} rows held out "
                    "for early stopping, the rest trained on; the refit row then trains on both "
                    f"for the epochs found; both scored on {valid}, which neither saw",
        "train_rows": len(common.file_lines(data / train)) - 1
        - valid_rows, "held_out_rows": valid_rows,
        "seeds": seeds, "mean": means,
        "mean_difference": round(statistics.mean(r["difference"] for r in seeds), 4)},
        args.results, start)


def main(argv=None) -> None:
    args = parse_args(argv)
    for part in args.parts:
        measure(args, part)


if __name__ == "__main__":
    main()
