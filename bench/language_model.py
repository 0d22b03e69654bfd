"""Language-model benchmark: PTB word-level validation perplexity and tiny-shakespeare
character-level validation nats/char, with training time, training tokens/s and the sampling
speed of the exported ``generate`` signature.

Run by hand from the repository root, one part at a time (not part of the tests; other work
shares the CPUs; the recipes train 60 and 30 minutes):

    python bench/language_model.py --only ptb                     # recipes/ptb.yaml
    python bench/language_model.py --only shakespeare             # recipes/tinyshakespeare.yaml
    python bench/language_model.py --only shakespeare --set time_budget=10
    python bench/language_model.py --only shakespeare --set time_budget=0.3 units=128 \\
        --results /tmp/benchsmoke                                 # smoke run

Recipes: recipes/ptb.yaml (--only ptb) and recipes/tinyshakespeare.yaml (--only shakespeare);
``--config FILE`` for another, ``--set KEY=VALUE ...`` on top (time_budget in minutes).

Writes bench/results/lm-ptb.json or lm-shakespeare.json (also printed as one JSON line, the last
line of stdout; Keras' per-epoch lines go to stdout before it). Progress goes to stderr. The
export and the split corpus go to a temporary folder (or --out DIR), never under
bench/results. Every number is measured by this run.

What is measured:
- PTB: ``../shared/data/ptb`` (train / valid as distributed; never copied into the repository),
  one line = one sentence = ``[BOS] words [EOS]``; perplexity over words + one [EOS] per line
  (73,760 tokens on the validation file: the usual convention).
- Tiny Shakespeare: ``../shared/data/tinyshakespeare/input.txt``, first 90 % of the characters
  train, the rest validation (its README's split), written to the work folder as train.txt /
  valid.txt; running text, "\\n" is a character.
- ``validation``: the pipeline's metrics, from the exported ``score`` function over the
  validation file in documents of 100 lines (state carried through each document): perplexity,
  nats_per_token, bits_per_char (char level), n_tokens. Early stopping restores the best epoch,
  so these are model-selection numbers on validation data, not test numbers.
- ``training``: the export's training summary; train_tokens_per_second = targets of one epoch /
  windows per epoch x windows trained / seconds inside training steps (validation excluded).
  ``val_perplexity_per_epoch`` is exp of the Keras validation window loss.
- ``generate``: tokens/s of the exported ``generate`` signature, 8 samples per prompt (16 in
  all), top-k 40, up to 200 tokens, timed after a warm-up call.
"""

from __future__ import annotations

import argparse
import math
import os
import time
from pathlib import Path

import common

RECIPES = {"ptb": "recipes/ptb.yaml", "shakespeare": "recipes/tinyshakespeare.yaml"}
PROMPTS = {"ptb": ["the company said", ""], "shakespeare": ["ROMEO:\n", "First Citizen:\n"]}
log = common.log


def data_files(part: str, work: Path) -> tuple[Path, Path]:
    if part == "ptb":
        return common.DATA / "ptb" / "ptb.train.txt", common.DATA / "ptb" / "ptb.valid.txt"
    text = (common.DATA / "tinyshakespeare" / "input.txt").read_text(encoding="utf-8")
    cut = int(0.9 * len(text))
    (work / "train.txt").write_text(text[:cut], encoding="utf-8")
    (work / "valid.txt").write_text(text[cut:], encoding="utf-8")
    return work / "train.txt", work / "valid.txt"


def sampling_speed(predictor, prompts: list[str]) -> dict:
    """Tokens/s of the exported ``generate`` signature (8 samples per prompt, top-k 40)."""
    import tensorflow as tf

    signature = predictor.model.signatures["generate"]
    inputs = dict(prompt=tf.constant(prompts), max_length=tf.constant(200),
                  temperature=tf.constant(1.0), top_k=tf.constant(40), top_p=tf.constant(1.0),
                  num_samples=tf.constant(8), seed=tf.constant(0), allow_unk=tf.constant(False))
    signature(**inputs)  # warm-up
    start = time.perf_counter()
    tokens = int(signature(**inputs)["length"].numpy().sum())
    seconds = time.perf_counter() - start
    return {"tokens_per_second": round(tokens / seconds, 1), "batch": 8 * len(prompts),
            "samples_per_prompt": 8, "max_length": 200, "top_k": 40,
            "generated_tokens": tokens, "seconds": round(seconds, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--only", choices=tuple(RECIPES), required=True,
                        help="which corpus (and recipe)")
    common.add_arguments(parser, " or ".join(f"{v} ({k})" for k, v in RECIPES.items()))
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

    from pipelines import language_model as lm
    import seqtasks

    part = args.only
    config, entries = common.resolve_config(lm.LanguageModelConfig,
                                            common.recipe_path(args, RECIPES[part]),
                                            args.overrides)
    work = common.work_dir(args, f"lm-{part}")
    train_path, valid_path = data_files(part, work)
    log(f"{part}: training for at most {config.time_budget} min into {work}")
    start = time.monotonic()
    export_dir = lm.train(config, train_path, valid_path, work / "model", verbose=2)
    wall = time.monotonic() - start
    metadata = common.read_metadata(export_dir)
    predictor = seqtasks.load(export_dir)
    samples = predictor.generate(PROMPTS[part], max_length=config.max_length, top_k=10, seed=1)
    speed = sampling_speed(predictor, PROMPTS[part])
    trained = common.training_entries(metadata)
    val_loss = trained["history"].get("val_loss", [])
    log(f"{part}: validation perplexity {metadata['metrics']['perplexity']:.2f}")
    common.write_result(f"lm-{part}", {
        "benchmark": f"lm_{part}", "part": part,
        "data": {"train": str(train_path), "valid": str(valid_path)},
        **entries,
        "validation": metadata["metrics"],
        **trained,
        "val_nats_per_token_per_epoch": val_loss,
        "val_perplexity_per_epoch": [round(math.exp(x), 1) for x in val_loss],
        "train_wall_seconds": round(wall, 1),
        "generate": speed,
        "samples": {"top_k": 10, "seed": 1, "max_length": config.max_length,
                    "prompts": PROMPTS[part], "texts": [s[0] for s in samples]},
        "vocab_size": metadata["vocab_size"],
        "export_dir": str(export_dir),
    }, args.results)


if __name__ == "__main__":
    main()
