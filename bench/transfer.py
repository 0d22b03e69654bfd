"""Transfer benchmark: random initialisation vs pretrained word vectors, same recipe, same budget.

Run by hand from the repository root, one part at a time (not part of the tests):

    python bench/transfer.py --only vectors           # seqtasks pretrain vectors (defaults)
    python bench/transfer.py --only lm --out W        # forward + backward IMDB LMs (init_from)
    python bench/transfer.py --only sst2,mr --out W   # each: random, vectors, LM-initialised
    python bench/transfer.py --only conll2003
    python bench/transfer.py --only sst2 --vectors V  # reuse vectors made before
    python bench/transfer.py --only sst2,mr,conll2003 --inits glove   # the -glove recipes

Every row is one ``seqtasks train`` command (the CLI, in a fresh process), run exactly as the
README quotes it: the part's recipe, and for the ``vectors`` row ``--set embeddings=V`` and
nothing else. The ``glove`` row trains the part's ``recipes/<part>-glove.yaml`` (GloVe 6B 50d by name, the
``glove`` extra), and ``glove+vectors`` the same recipe with the pretrained vectors stacked
beside GloVe (``--set embeddings=glove-6b-50d,V``). ``+ensembleN`` after any of them trains
that row as an ensemble of N in one export (``--set ensemble=N``, sentiment); ``+attention``,
``+max`` or ``+last`` sets the pooling and ``+seedN`` the seed; when a sentiment
part trains several rows, each export's serving speed is then timed here on the validation
sentences (``serving_sentences_per_second``), so the accuracy an ensemble gains stands beside
the serving time it costs. ``vectors`` runs ``seqtasks pretrain vectors --corpus
../shared/data/unlabelled/imdb_unsup.txt ../shared/data/unlabelled/enwiki_2015_sample.txt --out
V`` with its defaults and records its cost (minutes, corpus words). ``lm`` trains a forward and
a backward word LM (recipes/imdb-lm.yaml, side by side) on the IMDB reviews but their last
``LM_VALID_LINES`` (its validation text); the ``lm`` row of a sentiment part is ``--set
init_from=FORWARD,BACKWARD freeze_epochs=1``.

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
# Multi30k: word level (pretrained parts are words), random init vs an encoder from German LMs
# trained on the training pairs' source side; both rows trained side by side.
MULTI30K_LM_RECIPE = "recipes/multi30k-de-lm.yaml"
MULTI30K_ROWS = {"random": ["level=word"], "lm": ["level=word", "freeze_epochs=1"]}
CORPUS = ("unlabelled/imdb_unsup.txt", "unlabelled/enwiki_2015_sample.txt")
VECTORS_RESULT = "transfer-vectors"
LM_RESULT = "transfer-lm"
LM_VALID_LINES = 1000
LM_INIT = ["freeze_epochs=1"]  # what the lm rows set besides init_from
ROW_SETTINGS = ("embeddings", "pooling", "ensemble", "cell", "num_layers", "char_features", "seed")
GLOVE_RECIPES = {"sst2": "recipes/sst2-glove.yaml", "mr": "recipes/mr-glove.yaml",
                 "conll2003": "recipes/conll2003-glove.yaml"}
log = common.log


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--only", required=True,
                        help=f"comma-separated parts: vectors,{','.join(PARTS)}")
    parser.add_argument("--vectors", type=Path, default=None,
                        help="vectors file (default: OUT/vectors.txt, made by the vectors part)")
    parser.add_argument("--inits", default="random,vectors,lm",
                        help="rows per part (default: random,vectors,lm; the task's own "
                             "where it has no LM row)")
    parser.add_argument("--record", action="append", default=[], metavar="INIT=DIR",
                        help="add a row from an export trained outside this script (by "
                             "--record-command, which must be the part's recipe), for a run "
                             "too long to repeat; the row says recorded: true")
    parser.add_argument("--record-command", default="",
                        help="the seqtasks command that trained the --record export")
    parser.add_argument("--rekey", action="append", default=[], metavar="OLD=NEW",
                        help="rename a row kept from the previous result, after its recipe "
                             "changed (NEW names the settings it ran with); the row keeps its "
                             "numbers and says rekeyed_from and --rekey-why")
    parser.add_argument("--rekey-why", default="",
                        help="what changed in the recipe since those rows ran")
    common.add_arguments(parser, config=False)
    args = parser.parse_args(argv)
    args.parts = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = [p for p in args.parts if p not in ("vectors", "lm", "multi30k", *PARTS)]
    if unknown:
        parser.error(f"--only: unknown part(s) {', '.join(unknown)}")
    args.inits = [i.strip() for i in args.inits.split(",") if i.strip()]
    args.record = [tuple(item.split("=", 1)) for item in args.record]
    if args.record and not args.record_command:
        parser.error("--record needs --record-command: the command that trained the export")
    args.rekey = dict(tuple(item.split("=", 1)) for item in args.rekey)
    if args.rekey and not args.rekey_why:
        parser.error("--rekey needs --rekey-why: what changed in the recipe")
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


def pretrain_lms(args, work: Path) -> None:
    """Forward and backward IMDB LMs, trained at the same time (each one command)."""
    start = common.started()
    corpus = common.DATA / CORPUS[0]
    lines = common.file_lines(corpus, keepends=True)
    train, valid = work / "imdb_lm_train.txt", work / "imdb_lm_valid.txt"
    train.write_text("".join(lines[:-LM_VALID_LINES]), encoding="utf-8")
    valid.write_text("".join(lines[-LM_VALID_LINES:]), encoding="utf-8")
    commands = {direction: ["train", "lm", "--config", "recipes/imdb-lm.yaml", "--train",
                            str(train), "--valid", str(valid), "--out",
                            str(work / f"lm-{direction}"), "--set", f"direction={direction}",
                            "--quiet"] for direction in ("forward", "backward")}
    train_side_by_side(commands)
    rows = []
    for direction in commands:
        metadata = common.read_metadata(latest_export(work / f"lm-{direction}"))
        training = metadata["training"]
        rows.append({"direction": direction, "validation": metadata["metrics"],
                     "train_minutes": round(training["train_seconds"] / 60, 2),
                     "train_tokens_per_second": training.get("train_tokens_per_second"),
                     "epochs_run": training["epochs_run"], "stopped_by": training["stopped_by"],
                     "command": "seqtasks " + " ".join(commands[direction])})
    common.write_result(LM_RESULT, {
        "what": "forward and backward word LMs on the IMDB reviews for init_from, trained at "
                "the same time on the same 2 cores",
        "corpus_lines": len(lines) - LM_VALID_LINES, "valid_lines": LM_VALID_LINES,
        "rows": rows}, args.results, start)


def latest_export(root: Path) -> Path:
    return sorted((p for p in root.iterdir() if p.name.isdigit()), key=lambda p: int(p.name))[-1]


def measure(args, part: str, vectors: Path) -> None:
    task, recipe, folder, train, valid, key, metric = PARTS[part]
    start = common.started()
    data = common.DATA / folder
    rows = []
    work = common.work_dir(args, "transfer")
    exports = {}
    for init in args.inits:
        base, settings = split_init(init)
        if base == "lm" and task != "sentiment":
            continue  # the LMs are shaped as the sentiment recipe's encoder
        if task != "sentiment" and any(s.split("=")[0] in ("ensemble", "pooling")
                                       for s in settings):
            sys.exit(f"bench: {init}: only the sentiment parts train ensembles or pool")
        out = work / f"{part}-{init}"
        row_recipe = GLOVE_RECIPES[part] if base.startswith("glove") else recipe
        command = ["train", task, "--config", row_recipe, "--train", str(data / train),
                   "--valid", str(data / valid), "--out", str(out), "--quiet"]
        overrides = list(settings)
        if base == "vectors":
            overrides.append(f"embeddings={vectors}")
        if base == "glove+vectors":
            overrides.append(f"embeddings=glove-6b-50d,{vectors}")
        if base == "lm":
            overrides += [f"init_from={work / 'lm-forward'},{work / 'lm-backward'}", *LM_INIT]
        if overrides:
            command += ["--set", *overrides]
        wall = run(command)
        rows.append(export_row(init, row_recipe, metric, key, out, wall,
                               "seqtasks " + " ".join(command)))
        exports[init] = latest_export(out)
        log(f"{part} {init}: {metric} {rows[-1]['value']:.4f}")
    if task == "sentiment" and len(exports) > 1:
        from seqtasks.data.labelled import read_labelled

        texts = read_labelled(data / valid, "text", "label").texts  # as training read them
        for row in rows:
            row["serving_sentences_per_second"] = serving_speed(exports[row["init"]], texts)
            log(f"{part} {row['init']}: serves {row['serving_sentences_per_second']} sentences/s")
    for init, out in args.record:
        rows.append({**export_row(init, GLOVE_RECIPES[part] if init.startswith("glove")
                                  else recipe, metric, key, Path(out), None,
                                  args.record_command), "recorded": True})
        log(f"{part} {init} (recorded from {out}): {metric} {rows[-1]['value']:.4f}")
    pretraining = {}
    vectors_result = Path(args.results) / f"{VECTORS_RESULT}.json"
    if vectors_result.is_file():
        facts = json.loads(vectors_result.read_text())
        pretraining["vectors"] = {k: facts[k] for k in ("minutes", "corpus_words", "vectors",
                                                        "dim", "method", "epochs")}
    lm_result = Path(args.results) / f"{LM_RESULT}.json"
    if lm_result.is_file():
        facts = json.loads(lm_result.read_text())
        pretraining["lm"] = {"minutes": [row["train_minutes"] for row in facts["rows"]],
                             "corpus_lines": facts["corpus_lines"]}
    common.write_result(f"transfer-{part}", {"task": task, "data": folder, "recipe": recipe,
                                             "rows": merged_rows(args, part, rows),
                                             "pretraining": pretraining},
                        args.results, start)


def split_init(init: str) -> tuple[str, list[str]]:
    """A row's vectors and the settings its modifiers add to the recipe: ``glove`` -> ("glove",
    []); ``glove+max+ensemble1+seed43`` -> ("glove", ["pooling=max", "ensemble=1", "seed=43"]).
    Modifiers: ``ensembleN`` (N members in one export, the sentiment parts), ``attention`` /
    ``max`` / ``last`` (the pooling) and ``seedN``."""
    base, settings = [], []
    for part in init.split("+"):
        if part.startswith("ensemble") and part[len("ensemble"):].isdigit():
            settings.append(f"ensemble={part[len('ensemble'):]}")
        elif part in ("attention", "max", "last"):
            settings.append(f"pooling={part}")
        elif part.startswith("seed") and part[len("seed"):].isdigit():
            settings.append(f"seed={part[len('seed'):]}")
        else:
            base.append(part)
    return "+".join(base), settings


def serving_speed(export_dir: Path, texts: list[str], batch: int = 256, repeats: int = 5
                  ) -> float:
    """Sentences per second of the export's serving signature on ``texts``, raw strings in
    batches of ``batch``: the median of ``repeats`` passes after one warm-up pass. Every row of
    a part is timed here, one after another in this process, on the same texts."""
    import statistics

    import tensorflow as tf
    import tensorflow_text  # noqa: F401 (registers the tokenizer ops the export runs)

    classify = tf.saved_model.load(str(export_dir)).signatures["serving_default"]
    batches = [tf.constant(texts[i:i + batch]) for i in range(0, len(texts), batch)]

    def one_pass() -> float:
        begin = time.perf_counter()
        for b in batches:
            classify(text=b)
        return time.perf_counter() - begin

    one_pass()  # warm-up: traced functions, caches
    return round(len(texts) / statistics.median(one_pass() for _ in range(repeats)), 1)


def export_row(init: str, recipe: str, metric: str, key: str, out: Path, wall, command: str
               ) -> dict:
    """One row: what the newest export under ``out`` says of its training and score."""
    metadata = common.read_metadata(latest_export(out))
    training = metadata["training"]
    return {"init": init, "recipe": recipe, "metric": metric, "value": metadata["metrics"][key],
            "train_minutes": round(training["train_seconds"] / 60, 2),
            "wall_minutes": wall, "epochs_run": training["epochs_run"],
            "best_epoch": training.get("best_epoch"), "stopped_by": training["stopped_by"],
            "embeddings": training.get("embeddings"), "command": command,
            # the settings rows differ in, as trained (a recipe file may change later)
            "settings": {key: metadata["config"][key] for key in ROW_SETTINGS
                         if key in metadata["config"]}}


def merged_rows(args, part: str, rows: list[dict]) -> list[dict]:
    """This run's rows, after the rows of other inits a previous run of the part measured
    (so ``--inits lm`` adds its row once the LMs exist)."""
    previous = Path(args.results) / f"transfer-{part}.json"
    measured = {row["init"] for row in rows}
    before = json.loads(previous.read_text())["rows"] if previous.is_file() else []
    for row in before:
        if row["init"] in args.rekey:
            row.update(init=args.rekey[row["init"]], rekeyed_from=row["init"],
                       rekeyed_why=args.rekey_why)
    kept = [row for row in before if row["init"] not in measured]
    return kept + rows


def train_side_by_side(commands: dict[str, list[str]]) -> None:
    """Run seqtasks commands at the same time (each one command, in a fresh process)."""
    processes = {}
    for name, command in commands.items():
        log("$ seqtasks " + " ".join(command))
        processes[name] = subprocess.Popen([sys.executable, "-m", "pipelines.cli", *command],
                                           cwd=common.REPO)
    for name, process in processes.items():
        if process.wait() != 0:
            sys.exit(f"bench: {name} failed")


def multi30k(args) -> None:
    """German LMs on the source side, then word-level translation from random init and from
    them (BLEU with the recipe's beam 4 on val2016)."""
    start = common.started()
    work = common.work_dir(args, "transfer")
    data = common.DATA / "multi30k"
    lms = {d: work / f"de-lm-{d}" for d in ("forward", "backward")}
    train_side_by_side({d: ["train", "lm", "--config", MULTI30K_LM_RECIPE, "--train",
                            str(data / "train.de"), "--valid", str(data / "val.de"), "--out",
                            str(out), "--set", f"direction={d}", "--quiet"]
                        for d, out in lms.items()})
    commands = {}
    for init, overrides in MULTI30K_ROWS.items():
        if init == "lm":
            overrides = [*overrides, f"init_from={lms['forward']},{lms['backward']}"]
        commands[init] = ["train", "translate", "--config", "recipes/multi30k.yaml", "--train",
                          str(data / "train.de"), str(data / "train.en"), "--valid",
                          str(data / "val.de"), str(data / "val.en"), "--out",
                          str(work / f"multi30k-{init}"), "--quiet", "--set", *overrides]
    train_side_by_side(commands)
    rows = []
    for init, command in commands.items():
        metadata = common.read_metadata(latest_export(work / f"multi30k-{init}"))
        training = metadata["training"]
        rows.append({"init": init, "metric": "BLEU (beam 4), val2016",
                     "value": metadata["metrics"]["bleu"], "chrf": metadata["metrics"]["chrf"],
                     "train_minutes": round(training["train_seconds"] / 60, 2),
                     "epochs_run": training["epochs_run"], "best_epoch": training.get("best_epoch"),
                     "stopped_by": training["stopped_by"], "command": "seqtasks " + " ".join(command)})
        log(f"multi30k {init}: BLEU {rows[-1]['value']:.2f}")
    pretraining = []
    for direction, out in lms.items():
        metadata = common.read_metadata(latest_export(out))
        pretraining.append({"direction": direction, "validation": metadata["metrics"],
                            "train_minutes": round(metadata["training"]["train_seconds"] / 60, 2)})
    common.write_result("transfer-multi30k", {
        "task": "translate", "data": "multi30k", "recipe": "recipes/multi30k.yaml",
        "lm_recipe": MULTI30K_LM_RECIPE, "rows": rows, "pretraining": {"lm": pretraining},
        "note": "both LMs, then both translation runs, trained at the same time on the 2 cores"},
        args.results, start)


def main(argv=None) -> None:
    args = parse_args(argv)
    vectors = args.vectors or common.work_dir(args, "transfer") / "vectors.txt"
    if "vectors" in args.parts:
        pretrain(args, vectors)
    if "lm" in args.parts:
        pretrain_lms(args, common.work_dir(args, "transfer"))
    if "multi30k" in args.parts:
        multi30k(args)
    for part in args.parts:
        if part in PARTS:
            if "vectors" in args.inits and not vectors.is_file():
                sys.exit(f"bench: no vectors at {vectors}: run --only vectors first or pass "
                         "--vectors FILE")
            measure(args, part, vectors)


if __name__ == "__main__":
    main()
