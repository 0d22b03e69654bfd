"""Multi30k German -> English from scratch: validation BLEU / chrF (sacrebleu) with greedy decoding
and beam 4, training time, and the export's translation speed (sentences per second at batch 64,
greedy and beam 4).

Run by hand from the repository root (not part of the tests; the recipe trains 20 minutes):

    python bench/translation.py                          # recipes/multi30k.yaml
    python bench/translation.py --set attention=none time_budget=30
    python bench/translation.py --config recipes/multi30k-60min.yaml   # 60 minutes
    python bench/translation.py --compare --set time_budget=none epochs=3   # the comparison
    python bench/translation.py --set time_budget=0.3 --results /tmp/benchsmoke   # smoke run

Recipe: recipes/multi30k.yaml (``--config FILE`` for another, ``--set KEY=VALUE ...`` on top).
Data: ../shared/data/multi30k/{train,val}.{de,en} (non-commercial; never copied into the repo).

Writes bench/results/translation-multi30k.json (with ``--config recipes/NAME.yaml``:
translation-NAME.json), or with ``--compare``
bench/results/translation-compare.json (each also printed as one JSON line, the last line of
stdout). ``--compare`` trains the runs of COMPARISON (attention none / Bahdanau / Luong, teacher
forcing vs scheduled sampling; ``--runs`` picks some) on top of the recipe through ``seqtasks
compare`` into WORK/compare/ (report.md, results.csv, learning curves, attention side by side;
with the same --out, finished runs are reused), copies the report as translation-compare.md and
translation-compare-*.png, and adds greedy and beam-4 BLEU / chrF of every run. Exports go to a
temporary folder (or --out DIR), never under bench/results.

What is measured: ``validation`` is the pipeline's own evaluation of the export (the recipe's
beam_size and length_penalty); ``greedy`` and ``beam4`` score the export again through
``translation.TASK.score`` (BLEU / chrF as sacrebleu reports them, cased, 13a) and time it:
sentences per second, batch 64, after a warm-up batch so the one-off graph optimisation of the
first call is not counted. ``training`` is the export's training summary
(train_tokens_per_second counts target tokens, [EOS] included).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import common

DATA = common.DATA / "multi30k"
TRAIN = (DATA / "train.de", DATA / "train.en")
VALID = (DATA / "val.de", DATA / "val.en")
RECIPE = "recipes/multi30k.yaml"
COMPARISON = [{"name": "none", "attention": "none"},
              {"name": "bahdanau", "attention": "bahdanau"},
              {"name": "luong_general", "attention": "luong_general"},
              {"name": "bahdanau_scheduled_sampling", "attention": "bahdanau",
               "sampling_schedule": "inverse_sigmoid"}]


def decode_and_time(predictor, sources: list[str], beam_size: int) -> dict:
    """BLEU / chrF of the validation files and sentences per second (batch 64, after a warm-up
    batch)."""
    from pipelines import translation

    predictor.translate(sources[:64], beam_size=beam_size)
    metrics = translation.TASK.score(predictor, VALID, None, beam_size=beam_size)
    return {"bleu": metrics["bleu"], "chrf": metrics["chrf"],
            "exact_match": metrics["exact_match"], "n": metrics["n"],
            "predict_seconds": metrics["predict_seconds"],
            "sentences_per_second": round(metrics["n"] / metrics["predict_seconds"], 1),
            "bleu_signature": metrics["bleu_signature"],
            "chrf_signature": metrics["chrf_signature"]}


def scored(export_dir, sources: list[str]) -> dict:
    """The export's own metrics and training summary, and greedy / beam-4 scores and speeds."""
    from seqtasks import load

    predictor = load(export_dir)
    greedy, beam = decode_and_time(predictor, sources, 1), decode_and_time(predictor, sources, 4)
    return {"validation": predictor.metadata["metrics"],
            **common.training_entries(predictor.metadata),
            "greedy": greedy, "beam4": beam,
            "export_sentences_per_second_batch64": {"greedy": greedy["sentences_per_second"],
                                                    "beam4": beam["sentences_per_second"]},
            "export_dir": str(export_dir)}


def comparison(config, entries: dict, args, work) -> dict:
    """COMPARISON through seqtasks compare, then greedy and beam-4 scores of every run."""
    from pipelines import translation
    from seqtasks import config as config_lib
    from seqtasks.data.parallel import read_parallel
    from seqtasks.experiments import compare

    out = work / "compare"
    chosen = COMPARISON if not args.runs else [i for i in COMPARISON if i["name"] in args.runs]
    runs = []
    for item in chosen:
        changes = {key: value for key, value in item.items() if key != "name"}
        runs.append(compare.Run(item["name"], changes, config_lib.replace(config, **changes)))
    report = compare.compare(translation.TASK, runs, TRAIN, VALID, out,
                             {"data": "Multi30k De->En (train / val2016)",
                              "time_budget (min per run)": config.time_budget,
                              "seed": config.seed}, log=common.log)
    sources = read_parallel(VALID).sources
    table = {}
    for run in runs:
        common.log(f"scoring {run.name}")
        table[run.name] = {"changes": run.changes, **scored(out / "runs" / run.name, sources)}
    return {"benchmark": "translation_multi30k_de_en_comparison",
            "data": {"train": [str(p) for p in TRAIN], "valid": [str(p) for p in VALID]},
            **entries, "n_valid": len(sources),
            "report": common.copy_report(report, "translation-compare", args.results),
            "report_dir": str(report.parent), "runs": table}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--compare", action="store_true",
                        help="train and score the runs of COMPARISON (see above)")
    parser.add_argument("--runs", type=lambda s: [n.strip() for n in s.split(",") if n.strip()],
                        default=None, metavar="NAME,...",
                        help="--compare: only these runs, from "
                             + ", ".join(i["name"] for i in COMPARISON))
    common.add_arguments(parser, RECIPE)
    args = parser.parse_args()
    if args.runs and set(args.runs) - {i["name"] for i in COMPARISON}:
        parser.error(f"--runs: choose from {', '.join(i['name'] for i in COMPARISON)}")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

    from pipelines import translation
    from seqtasks.data.parallel import read_parallel

    config, entries = common.resolve_config(translation.TranslationConfig,
                                            common.recipe_path(args, RECIPE), args.overrides)
    work = common.work_dir(args, "translation")
    common.log(f"work folder {work}")
    if args.compare:
        common.write_result("translation-compare", {**comparison(config, entries, args, work),
                                                    "work_dir": str(work)}, args.results)
        return
    common.log(f"training (time budget {config.time_budget} min)")
    start = time.monotonic()
    export_dir = translation.train(config, TRAIN, VALID, work / "model", verbose=0)
    wall = time.monotonic() - start
    sources = read_parallel(VALID).sources
    result = scored(export_dir, sources)
    common.log(f"BLEU greedy {result['greedy']['bleu']}, beam 4 {result['beam4']['bleu']}")
    recipe = common.recipe_path(args, RECIPE)
    name = "translation-multi30k" if recipe.name == Path(RECIPE).name \
        else f"translation-{recipe.stem}"
    common.write_result(name, {
        "benchmark": "translation_multi30k_de_en",
        "data": {"train": [str(p) for p in TRAIN], "valid": [str(p) for p in VALID]},
        **entries, "n_valid": len(sources), **result,
        "train_wall_seconds": round(wall, 1), "work_dir": str(work),
    }, args.results)


if __name__ == "__main__":
    main()
