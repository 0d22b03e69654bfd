"""Image captioning on the generated development sets: digit reading (1-5 handwritten digits per
image) and scenes (two shapes in a spatial relation), each with vs without attention. Reports the
held-out test split's exact match (and BLEU-4) for greedy decoding and beam 3, training time, and
the export's captioning speed (images/s at batch 64). Prints one JSON object (last line of
stdout) and writes it to bench/results/caption.json, with the models, the generated data and a
digit attention figure under bench/results/ (git-ignored).

    python bench/caption.py                         # both sets, 8 minutes per training run
    python bench/caption.py --only digits --time-budget 5 --set units=128
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
SIZES = {"digits": {"train": 8000, "valid": 500, "test": 1000},
         "scenes": {"train": 4000, "valid": 500, "test": 1000}}
IMAGE_SIZES = {"digits": ["image_height=20", "image_width=56"],  # the config's defaults
               "scenes": ["image_height=40", "image_width=40"]}
# The baseline without attention starts its decoder from the max-pooled grid, the only thing it
# sees; with attention a learned start state works better here (the pooled vector is a shortcut
# that keeps the decoder from learning to look).
CONTEXT = {"none": ["global_context=max"]}


def caption_speed(predictor, images: list[bytes], beam_size: int) -> float:
    """Images per second through the exported ``caption`` signature, batches of 64, after one
    warm-up batch (the first call optimises the graph)."""
    from seqtasks.inference.decoding_predictors import caption_images

    signature = predictor.model.signatures["caption"]
    caption_images(signature, images[:64], beam_size, 0.0)
    start = time.monotonic()
    caption_images(signature, images, beam_size, 0.0, batch_size=64)
    return round(len(images) / (time.monotonic() - start), 1)


def run(kind: str, attention: str, paths: dict, overrides: list[str], out: Path) -> dict:
    from pipelines import caption
    from seqtasks import config as config_lib
    from seqtasks import load
    from seqtasks.inference.decoding_predictors import read_images
    from seqtasks.data.captions import read_captions

    config = config_lib.resolve(caption.CaptionConfig,
                                overrides=[f"attention={attention}", *overrides])
    export_dir = caption.train(config, paths["train"], paths["valid"], out, verbose=0)
    training = json.loads((export_dir / "seqtasks.json").read_text())["training"]
    predictor = load(export_dir)
    test = read_captions(paths["test"])
    result = {"train_seconds": training["train_seconds"], "epochs_run": training["epochs_run"],
              "stopped_by": training["stopped_by"],
              "train_images_per_second": training["train_images_per_second"]}
    for beam_size in (1, 3):
        metrics = caption.score(predictor, test, beam_size=beam_size)
        name = "greedy" if beam_size == 1 else f"beam{beam_size}"
        result[name] = {"exact_match": metrics["exact_match"], "bleu": metrics["bleu"],
                        "n": metrics["n"]}
    images = read_images(test.references()[0][:512])
    result["export_images_per_second"] = {"greedy": caption_speed(predictor, images, 1),
                                          "beam3": caption_speed(predictor, images, 3)}
    if kind == "digits" and attention != "none":
        figure = RESULTS / "caption_digits_attention.png"
        caption.attention_plot(predictor, test.images[3], figure)
        result["attention_figure"] = str(figure)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=tuple(SIZES))
    parser.add_argument("--attention", nargs="+", default=["bahdanau", "none"])
    parser.add_argument("--time-budget", type=float, default=8.0, help="minutes per run")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                        help="config overrides for every run")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

    from seqtasks.data.caption_sets import DigitReading, Scenes, write_caption_set

    saved = RESULTS / "caption.json"  # --only updates its set and keeps the other's results
    results = json.loads(saved.read_text()) if args.only and saved.exists() else {}
    results.update(time_budget_minutes=args.time_budget, overrides=args.set)
    for kind in [args.only] if args.only else list(SIZES):
        data_dir = RESULTS / "caption-data" / kind
        generator = DigitReading(1, 5) if kind == "digits" else Scenes()
        paths = write_caption_set(data_dir, generator, SIZES[kind], seed=0)
        results[kind] = {**results.get(kind, {}), "sizes": SIZES[kind]}
        for attention in args.attention:
            out = RESULTS / f"caption-{kind}-{attention}"
            overrides = [f"time_budget={args.time_budget}", "epochs=100",
                         "early_stopping_patience=8", *IMAGE_SIZES[kind],
                         *CONTEXT.get(attention, []), *args.set]
            results[kind][attention] = run(kind, attention, paths, overrides, out)
            print(json.dumps({kind: {attention: results[kind][attention]}}), flush=True)
    saved.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
