"""Short real-data runs behind the docs' "Concepts, measured" pages, one ``seqtasks compare`` each.

    python bench/concepts.py --only clipping      # char LM, SGD lr 20: clipnorm 0.25 vs none
    python bench/concepts.py --only tbptt         # char LM: k2 = 10 / 100, k1 = 50 of 100
    python bench/concepts.py --only depth         # SST-2: num_layers 1 / 2 / 3
    python bench/concepts.py --only attention     # Multi30k: none / bahdanau / + scheduled sampling
    python bench/concepts.py --only attention-copy  # Multi30k English copied: none / bahdanau
    python bench/concepts.py --only sampling      # the tbptt part's k2 = 100 LM, six decoders
    python bench/concepts.py --only adding        # the adding problem, every cell, T = 50 / 100

Each part runs the ``seqtasks compare`` command it records (``compare_command``: what a user
types to reproduce it, with the data paths of docs/data.md) on tiny-shakespeare (first 90 % /
rest, as bench/language_model.py cuts it), SST-2 or Multi30k from ../shared/data (attention-copy:
its English side as both source and target), with a budget of ``--budget`` minutes a run (times
a part's ``budget_factor``): these are deliberately small runs, minutes on 2 CPU cores, not
recipes. It writes ``bench/results/concept-<part>.json`` (every run's score, training summary
and per-epoch curves) and the comparison's report and figures as ``concept-<part>*.md/png``;
clipping adds each run's gradient-norm log as a figure, tbptt the gradient flow through time of
the k2 = 100 model (``seqtasks diagnose``), attention and attention-copy the BLEU of each run
by source length;
sampling generates from the tbptt part's k2 = 100 model (trained first if missing) with greedy,
temperature, top-k and top-p decoding and scores the samples with the same model; adding runs
``seqtasks diagnose --task adding`` (synthetic data, the one part that needs none) at the
lengths ADDING_LENGTHS for ``--budget / 2`` minutes a run.
"""

from __future__ import annotations

import argparse
import csv
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import common
from common import DATA, log

CHAR_LM = ["level=char", "eos_at_line_end=false", "cell=lstm", "units=128", "num_layers=1",
           "embedding_dim=32", "tie_embeddings=false", "dropout=0", "batch_size=32",
           "bptt_steps=50"]
PARTS = {
    # An LSTM char LM at the PTB recipe's SGD learning rate: clipping by global norm or not.
    "clipping": {"task": "lm", "data": "shakespeare",
                 "grid": ["clipnorm=0.25,none"],
                 "set": [*CHAR_LM, "optimizer=sgd", "learning_rate=20", "grad_diagnostics=true",
                         "epochs=2"]},
    "tbptt": {"task": "lm", "data": "shakespeare",
              "runs": [{"name": "k2=10", "bptt_steps": 10},
                       {"name": "k2=100", "bptt_steps": 100},
                       {"name": "k2=100,k1=50", "bptt_steps": 100, "bptt_stride": 50}],
              "set": [*CHAR_LM, "epochs=3"]},
    "depth": {"task": "sentiment", "data": "sst2", "config": "recipes/sst2.yaml",
              "grid": ["num_layers=1,2,3"], "set": ["epochs=6"]},
    "attention": {"task": "translate", "data": "multi30k", "config": "recipes/multi30k.yaml",
                  "runs": [{"name": "no attention", "attention": "none"},
                           {"name": "bahdanau", "attention": "bahdanau"},
                           {"name": "bahdanau + scheduled sampling", "attention": "bahdanau",
                            "sampling_schedule": "inverse_sigmoid", "sampling_k": 50}],
                  "set": ["beam_size=1"], "budget_factor": 4, "bleu_by_length": True},
    # Copying English sentences: the task where everything must pass the bottleneck, word by word.
    # A small unidirectional GRU, so the final state is one 128-wide vector.
    "attention-copy": {"task": "translate", "data": "multi30k-copy",
                       "runs": [{"name": "no attention", "attention": "none"},
                                {"name": "bahdanau", "attention": "bahdanau"}],
                       "set": ["level=word", "max_vocab_size=2000", "embedding_dim=64",
                               "units=128", "bidirectional=false", "dropout=0",
                               "learning_rate=0.003", "max_length=40", "beam_size=1",
                               "epochs=50"],
                       "budget_factor": 5, "bleu_by_length": True},
}
# Decoders compared by the sampling part: (name, generate() keyword arguments).
DECODERS = (("greedy", {"temperature": 0.0}), ("temperature 0.5", {"temperature": 0.5}),
            ("temperature 1.0", {"temperature": 1.0}), ("temperature 1.5", {"temperature": 1.5}),
            ("top-k 5", {"top_k": 5}), ("top-p 0.9", {"top_p": 0.9}))
SAMPLING = {"prompt": "ROMEO:\n", "num_samples": 8, "max_length": 200, "seed": 1}
ADDING_LENGTHS = "50,100"
# Source-length buckets (words) for BLEU by length.
LENGTH_BUCKETS = ((1, 9), (10, 12), (13, 15), (16, 50))


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", choices=[*PARTS, "sampling", "adding"],
                        default=[*PARTS, "sampling", "adding"],
                        dest="parts", help="parts to run (default: all, one after another)")
    parser.add_argument("--budget", type=float, default=1.0, metavar="MIN",
                        help="training minutes per run (default: 1; attention: 4x, attention-copy: 5x this)")
    parser.add_argument("--data-root", type=Path, default=DATA, help="folder of the data sets")
    common.add_arguments(parser, config=False)
    args = parser.parse_args(argv)
    if args.budget <= 0:
        parser.error("--budget must be > 0 minutes")
    return args


def data_paths(name: str, root: Path, work: Path) -> tuple[list[str], list[str], list[str]]:
    """(train files, valid files, the same as docs/data.md names them) for ``name``."""
    if name == "shakespeare":
        text = (root / "tinyshakespeare" / "input.txt").read_text(encoding="utf-8")
        cut = int(len(text) * 0.9)
        (work / "train.txt").write_text(text[:cut], encoding="utf-8")
        (work / "valid.txt").write_text(text[cut:], encoding="utf-8")
        return ([str(work / "train.txt")], [str(work / "valid.txt")],
                ["data/tinyshakespeare/train.txt", "data/tinyshakespeare/valid.txt"])
    if name == "sst2":
        return ([str(root / "sst2" / "train.tsv")], [str(root / "sst2" / "valid.tsv")],
                ["data/sst2/train.tsv", "data/sst2/valid.tsv"])
    if name == "multi30k-copy":  # the English side is both source and target
        return ([str(root / "multi30k" / "train.en")] * 2, [str(root / "multi30k" / "val.en")] * 2,
                ["data/multi30k/train.en data/multi30k/train.en",
                 "data/multi30k/val.en data/multi30k/val.en"])
    return ([str(root / "multi30k" / f) for f in ("train.de", "train.en")],
            [str(root / "multi30k" / f) for f in ("val.de", "val.en")],
            ["data/multi30k/train.de data/multi30k/train.en",
             "data/multi30k/val.de data/multi30k/val.en"])


def compare_argv(part: dict, train: list[str], valid: list[str], out: Path, budget: float,
                 runs_file: str) -> list[str]:
    argv = ["compare", part["task"], "--train", *train, "--valid", *valid, "-o", str(out),
            "--time-budget", f"{budget:g}", "-q"]
    if "config" in part:
        argv += ["--config", part["config"]]
    argv += ["--grid", *part["grid"]] if "grid" in part else ["--runs", runs_file]
    return argv + ["--set", *part["set"]]


def seqtasks(argv: list[str]) -> subprocess.CompletedProcess:
    """``seqtasks ARGV`` in its own process (as a user runs it), niced: the cores are shared."""
    command = ["nice", "-n", "10", sys.executable, "-m", "pipelines.cli.main", *argv]
    return subprocess.run(command, cwd=common.REPO, capture_output=True, text=True)


def run_rows(out: Path) -> list[dict]:
    """One entry per run folder: its score and training summary (runs that failed: no export)."""
    from seqtasks.export.layout import versions

    rows = []
    for root in sorted((out / "runs").iterdir()):
        row = {"run": root.name}
        if versions(root):
            metadata = common.read_metadata(common.resolve_export(root))
            row.update({"export": str(common.resolve_export(root)),
                        "metrics": metadata.get("metrics", {}),
                        **common.training_entries(metadata)})
        gradients = root / "logs" / "gradients.csv"
        if gradients.exists():
            with gradients.open(encoding="utf-8") as f:
                steps = list(csv.DictReader(f))
            row["global_norm"] = [common._rounded(float(r["global_norm"])) for r in steps]
            row["gradient_log"] = {"steps": len(steps),
                                   "clipped_steps": sum(r["clipped"] == "1" for r in steps),
                                   "max_global_norm": max(row["global_norm"], default=None)}
        rows.append(row)
    return rows


def plot_gradient_norms(rows: list[dict], path: Path) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.5))
    for row in rows:
        if row.get("global_norm"):
            ax.plot(range(1, len(row["global_norm"]) + 1), row["global_norm"], label=row["run"],
                    linewidth=0.8)
    ax.set_yscale("log")
    ax.set_xlabel("training step")
    ax.set_ylabel("global gradient norm (before clipping)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return common.relative(path)


def bleu_by_length(rows: list[dict], valid: list[str]) -> dict:
    """Corpus BLEU (sacrebleu, greedy) of each run's export per source-length bucket."""
    import sacrebleu

    import seqtasks as api

    sources = common.file_lines(valid[0])
    targets = common.file_lines(valid[1])
    result = {"buckets": [f"{lo}-{hi}" for lo, hi in LENGTH_BUCKETS],
              "sentences": [sum(lo <= len(s.split()) <= hi for s in sources)
                            for lo, hi in LENGTH_BUCKETS], "bleu": {}}
    for row in rows:
        if "export" not in row:
            continue
        model = api.load(row["export"])
        hypotheses = [h for i in range(0, len(sources), 64)
                      for h in model.translate(sources[i:i + 64], beam_size=1)]
        result["bleu"][row["run"]] = [
            round(sacrebleu.corpus_bleu(
                [h for h, s in zip(hypotheses, sources) if lo <= len(s.split()) <= hi],
                [[t for t, s in zip(targets, sources) if lo <= len(s.split()) <= hi]]).score, 2)
            for lo, hi in LENGTH_BUCKETS]
    return result


def repeated_share(text: str, n: int = 4) -> float:
    """The share of ``text``'s character n-grams that occurred earlier in it (loops score high)."""
    grams = [text[i:i + n] for i in range(len(text) - n + 1)]
    return 1 - len(set(grams)) / len(grams) if grams else 0.0


def sampling_part(args, work: Path) -> dict:
    """Each decoder of DECODERS on the tbptt part's k2 = 100 language model."""
    import seqtasks as api

    root = work / "tbptt" / "report" / "runs" / "k2=100"
    if not root.is_dir():
        run_part("tbptt", args, work)
    model = api.load(str(common.resolve_export(root)))
    rows = []
    for name, options in DECODERS:
        texts = model.generate([SAMPLING["prompt"]], num_samples=SAMPLING["num_samples"],
                               max_length=SAMPLING["max_length"], seed=SAMPLING["seed"],
                               **options)[0]
        continuations = [t[len(SAMPLING["prompt"]):] for t in texts]
        scores = model.score(texts)
        nats = sum(-s["log_prob"] for s in scores) / sum(s["n_tokens"] for s in scores)
        rows.append({"decoder": name, "options": options, "texts": texts,
                     "repeated_4gram_share": round(sum(map(repeated_share, continuations))
                                                   / len(continuations), 4),
                     "distinct_samples": len(set(continuations)),
                     "model_nats_per_char": round(nats, 4)})
        log(f"sampling: {name}: {rows[-1]['repeated_4gram_share']} repeated, {nats:.3f} nats")
    flags = {"temperature": "--temperature", "top_k": "--top-k", "top_p": "--top-p"}
    return {"part": "sampling", **SAMPLING, "model": "the tbptt part's k2=100 run",
            "generate_commands": [
                "seqtasks generate reports/tbptt/runs/k2=100 --prompt 'ROMEO:' "
                "--num-samples 8 --max-length 200 --seed 1 "
                + " ".join(f"{flags[k]} {v}" for k, v in options.items())
                for _, options in DECODERS],
            "decoders": rows}


def csv_value(text: str):
    """A results.csv cell as JSON keeps it: integers and (rounded) floats as numbers, the
    ``None`` that the CSV writer writes for "no clipping" as null, anything else as text."""
    if text in ("", "None"):
        return None
    for kind in (int, float):
        try:
            return common._rounded(kind(text))
        except ValueError:
            continue
    return text


def adding_part(args, work: Path) -> dict:
    """The adding problem through ``seqtasks diagnose --task adding``: its results.csv rows,
    and its figure copied as concept-adding.png."""
    import shutil

    out = work / "adding"
    argv = ["diagnose", "--task", "adding", "--cells", "rnn,lstm,peephole_lstm,gru",
            "--length", ADDING_LENGTHS, "--minutes", f"{args.budget / 2:g}", "-o", str(out), "-q"]
    log(f"adding: seqtasks {shlex.join(argv)}")
    done = seqtasks(argv)
    if done.returncode:
        sys.exit(f"adding: {done.stderr.strip()[-2000:]}")
    with (out / "results.csv").open(encoding="utf-8") as f:
        rows = [{k: csv_value(v) for k, v in row.items()} for row in csv.DictReader(f)]
    figure = Path(args.results) / "concept-adding.png"
    shutil.copyfile(out / "adding.png", figure)
    return {"part": "adding",
            "diagnose_command": "seqtasks " + shlex.join([*argv[:-3], "-o", "adding/"]),
            "minutes_per_run": args.budget / 2, "figure": common.relative(figure), "runs": rows}


def run_part(name: str, args, work: Path) -> dict:
    import yaml

    part = PARTS[name]
    budget = args.budget * part.get("budget_factor", 1)
    part_work = work / name
    part_work.mkdir(parents=True, exist_ok=True)
    train, valid, shown = data_paths(part["data"], args.data_root, part_work)
    runs_file = part_work / "runs.yaml"
    if "runs" in part:
        runs_file.write_text(yaml.safe_dump(part["runs"], sort_keys=False), encoding="utf-8")
    argv = compare_argv(part, train, valid, part_work / "report", budget, str(runs_file))
    shown_argv = compare_argv(part, shown[0].split(), shown[1].split(), Path(f"reports/{name}"),
                              budget, "runs.yaml")
    log(f"{name}: seqtasks {shlex.join(argv)}")
    start = time.monotonic()
    done = seqtasks(argv)
    error = done.stderr.strip().splitlines()[-1] if done.returncode else None
    if error:
        log(f"{name}: compare stopped: {error}")
    rows = run_rows(part_work / "report")
    result = {"part": name, "compare_command": "seqtasks " + shlex.join(shown_argv),
              "runs_file": part.get("runs"), "budget_minutes_per_run": budget,
              "compare_error": error, "wall_seconds": round(time.monotonic() - start, 1)}
    report = part_work / "report" / "report.md"
    if report.exists():
        result["report"] = common.copy_report(report, f"concept-{name}", args.results)
    if name == "clipping":
        result["gradient_norms_png"] = plot_gradient_norms(
            rows, Path(args.results) / "concept-clipping-gradient-norms.png")
    if name == "tbptt":
        flow = Path(args.results) / "concept-tbptt-flow.png"
        k2_100 = next(r for r in rows if r["run"] == "k2=100")
        diagnose = ["diagnose", k2_100["export"], "-o", str(flow), "--data", valid[0]]
        done = seqtasks(diagnose)
        result["flow"] = {"command": "seqtasks diagnose reports/tbptt/runs/k2=100 -o flow.png "
                                     f"--data {shown[1]}",
                          "png": common.relative(flow) if not done.returncode else None,
                          "error": done.stderr.strip()[-500:] if done.returncode else None}
    if part.get("bleu_by_length"):
        result["bleu_by_source_length"] = bleu_by_length(rows, valid)
    for row in rows:  # the figure has them; the file keeps the score and curves
        row.pop("export", None)
    result["runs"] = rows
    return result


def main(argv=None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    work = common.work_dir(args, "concepts")
    for name in args.parts:
        start = common.started()
        result = (sampling_part(args, work) if name == "sampling" else
                  adding_part(args, work) if name == "adding" else run_part(name, args, work))
        common.write_result(f"concept-{name}", result, args.results, start)
    return 0


if __name__ == "__main__":
    sys.exit(main())
