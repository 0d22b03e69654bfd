"""Multi30k German -> English from scratch: validation BLEU / chrF (sacrebleu) with greedy decoding
and beam 4, training time, and the export's translation speed (sentences per second at batch 64,
greedy and beam 4). Prints one JSON object (last line of stdout).

    python bench/translation.py                          # TranslationConfig defaults, 20 minutes
    python bench/translation.py --set attention=none time_budget=30
    python bench/translation.py --compare --set time_budget=10   # the comparison table

``--compare`` trains the runs of COMPARISON (attention none / Bahdanau / Luong, teacher forcing
vs scheduled sampling) through ``seqtasks compare`` into bench/results/translation-compare/
(report.md, results.csv, learning curves, attention side by side; finished runs are reused) and
adds greedy and beam-4 BLEU / chrF of every run.

Data: ../shared/data/multi30k/{train,val}.{de,en} (non-commercial; never copied into the repo).
The export is kept under bench/results/ (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "multi30k"
RESULTS = ROOT / "bench" / "results"
DEFAULTS = ["time_budget=20", "epochs=50"]
COMPARISON = [{"name": "none", "attention": "none"},
              {"name": "bahdanau", "attention": "bahdanau"},
              {"name": "luong_general", "attention": "luong_general"},
              {"name": "bahdanau_scheduled_sampling", "attention": "bahdanau",
               "sampling_schedule": "inverse_sigmoid"}]


def decode_and_time(predictor, data, beam_size: int) -> dict:
    """BLEU / chrF of the validation set and sentences per second (batch 64, after a warm-up
    batch so that the one-off graph optimisation of the first call is not counted)."""
    from pipelines import translation

    predictor.translate(data.sources[:64], beam_size=beam_size)
    metrics = translation.score(predictor, data, beam_size=beam_size)
    return {"bleu": metrics["bleu"], "chrf": metrics["chrf"],
            "sentences_per_second": round(metrics["n"] / metrics["predict_seconds"], 1),
            "bleu_signature": metrics["bleu_signature"]}


def comparison(config) -> dict:
    """COMPARISON through seqtasks compare, then greedy and beam-4 scores of every run."""
    from pipelines import translation
    from seqtasks import load
    from seqtasks.evaluation import compare
    from seqtasks import config as config_lib
    from seqtasks.data.parallel import read_parallel

    out = RESULTS / "translation-compare"
    runs = []
    for item in COMPARISON:
        changes = {key: value for key, value in item.items() if key != "name"}
        runs.append(compare.Run(item["name"], changes, config_lib.replace(config, **changes)))
    train_paths, valid_paths = (DATA / "train.de", DATA / "train.en"), (DATA / "val.de",
                                                                         DATA / "val.en")
    report = compare.compare(translation, "translate", runs, train_paths, valid_paths, out,
                             {"data": "Multi30k De->En (train / val2016)",
                              "time_budget (min per run)": config.time_budget,
                              "seed": config.seed})
    valid = read_parallel(valid_paths)
    table = {}
    for run in runs:
        predictor = load(out / "runs" / run.name)
        training = predictor.metadata["training"]
        greedy, beam = decode_and_time(predictor, valid, 1), decode_and_time(predictor, valid, 4)
        table[run.name] = {
            "bleu_greedy": greedy["bleu"], "bleu_beam4": beam["bleu"],
            "chrf_greedy": greedy["chrf"], "chrf_beam4": beam["chrf"],
            "train_seconds": training["train_seconds"], "epochs_run": training["epochs_run"],
            "best_epoch": training["best_epoch"],
            "train_target_tokens_per_second": training["train_tokens_per_second"]}
    return {"bench": "translation_multi30k_de_en_comparison", "report": str(report),
            "runs": table, "n_valid": len(valid)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                        help=f"config overrides (default: {' '.join(DEFAULTS)})")
    parser.add_argument("--compare", action="store_true",
                        help="train and score the runs of COMPARISON (see the docstring)")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

    from pipelines import translation
    from seqtasks import config as config_lib
    from seqtasks import load
    from seqtasks.data.parallel import read_parallel

    overrides = DEFAULTS + args.set
    config = config_lib.resolve(translation.TranslationConfig, overrides=overrides)
    RESULTS.mkdir(parents=True, exist_ok=True)
    if args.compare:
        print(json.dumps({**comparison(config), "overrides": overrides,
                          "cpu_threads": os.cpu_count()}))
        return
    out = Path(tempfile.mkdtemp(prefix="translation-", dir=RESULTS))
    export_dir = translation.train(config, (DATA / "train.de", DATA / "train.en"),
                                   (DATA / "val.de", DATA / "val.en"), out, verbose=0)
    training = json.loads((export_dir / "seqtasks.json").read_text())["training"]
    predictor = load(export_dir)
    valid = read_parallel((DATA / "val.de", DATA / "val.en"))
    greedy, beam = decode_and_time(predictor, valid, 1), decode_and_time(predictor, valid, 4)
    print(json.dumps({
        "bench": "translation_multi30k_de_en",
        "overrides": overrides,
        "valid_bleu_greedy": greedy["bleu"],
        "valid_bleu_beam4": beam["bleu"],
        "valid_chrf_greedy": greedy["chrf"],
        "valid_chrf_beam4": beam["chrf"],
        "bleu_signature": beam["bleu_signature"],
        "n_valid": len(valid),
        "train_seconds": training["train_seconds"],
        "epochs_run": training["epochs_run"],
        "best_epoch": training["best_epoch"],
        "stopped_by": training["stopped_by"],
        "train_pairs": training["train_pairs"],
        "skipped_pairs": training["skipped_pairs"],
        "train_target_tokens_per_second": training["train_tokens_per_second"],
        "val_loss_curve": [round(v, 3) for v in training["history"]["val_loss"]],
        "export_sentences_per_second_batch64": {"greedy": greedy["sentences_per_second"],
                                                "beam4": beam["sentences_per_second"]},
        "cpu_threads": os.cpu_count(),
        "export_dir": str(export_dir.relative_to(ROOT)),
    }))


if __name__ == "__main__":
    main()
