"""Language-model benchmark: PTB word-level validation perplexity and tiny-shakespeare
character-level validation nats/char, with training time, training tokens/s and the sampling
speed of the exported ``generate`` signature.

Run by hand from the repository root, one part at a time (other work shares the CPUs):

    python bench/language_model.py --only ptb --time-budget 60
    python bench/language_model.py --only shakespeare --time-budget 30

Prints one JSON object (last line of stdout; Keras' per-epoch lines come before it) and writes
it to bench/results/lm_<part>.json. Progress goes to stderr. Every number is measured by this run.

What is measured:
- PTB: ``../shared/data/ptb`` (train / valid as distributed; never copied into the repository),
  one line = one sentence = ``[BOS] words [EOS]``; perplexity over words + one [EOS] per line
  (73,760 tokens on the validation file: the usual convention).
- Tiny Shakespeare: ``../shared/data/tinyshakespeare/input.txt``, first 90 % of the characters
  train, the rest validation (its README's split); running text, "\n" is a character.
- Validation scores come from the pipeline: the exported ``score`` function over the validation
  file in documents of 100 lines (state carried through each document). Early stopping restores
  the best epoch, so these are model-selection numbers on validation data, not test numbers.
- train_tokens_per_second: training windows x batch x k1 / seconds spent in training steps
  (validation excluded). load_average shows how busy the shared machine was.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
SHARED = REPO.parent / "shared" / "data"

RECIPES = {
    # SGD on the per-token mean loss (lr 20, clip 0.25: lr 1 / clip 5 on Zaremba et al.'s sum over
    # 35 steps); Adam with tied embeddings chased the most recent windows (epoch-1 val loss 7.4).
    # 11 epochs of 2x400 fill the 60 minutes on an idle 2-core machine; cosine anneals over them.
    "ptb": {"level": "word", "word_split": "whitespace", "eos_at_line_end": True,
            "embedding_dim": 400, "units": 400, "num_layers": 2, "tie_embeddings": True,
            "dropout": 0.35, "batch_size": 32, "bptt_steps": 35, "optimizer": "sgd",
            "learning_rate": 20.0, "lr_schedule": "cosine", "clipnorm": 0.25, "epochs": 11,
            "early_stopping_patience": 3, "max_length": 40, "seed": 42},
    # 2x512 at batch 64 x 100 characters: 8 epochs fill 30 minutes; Adam, cosine over them.
    "shakespeare": {"level": "char", "eos_at_line_end": False, "lowercase": False,
                    "embedding_dim": 64, "units": 512, "num_layers": 2,
                    "tie_embeddings": False, "dropout": 0.2, "batch_size": 64,
                    "bptt_steps": 100, "optimizer": "adam", "learning_rate": 2e-3,
                    "lr_schedule": "cosine", "clipnorm": 5.0, "epochs": 8,
                    "early_stopping_patience": 2, "max_length": 300, "seed": 42},
}
PROMPTS = {"ptb": ["the company said", ""], "shakespeare": ["ROMEO:\n", "First Citizen:\n"]}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def data_files(part: str, work: Path) -> tuple[Path, Path]:
    if part == "ptb":
        return SHARED / "ptb" / "ptb.train.txt", SHARED / "ptb" / "ptb.valid.txt"
    text = (SHARED / "tinyshakespeare" / "input.txt").read_text(encoding="utf-8")
    cut = int(0.9 * len(text))
    (work / "train.txt").write_text(text[:cut], encoding="utf-8")
    (work / "valid.txt").write_text(text[cut:], encoding="utf-8")
    return work / "train.txt", work / "valid.txt"


def sampling_speed(export_dir: Path, prompts: list[str]) -> dict:
    """Tokens/s of the exported ``generate`` signature (8 samples per prompt, top-k 40)."""
    import tensorflow as tf

    import seqtasks

    signature = seqtasks.load(export_dir).model.signatures["generate"]
    inputs = dict(prompt=tf.constant(prompts), max_length=tf.constant(200),
                  temperature=tf.constant(1.0), top_k=tf.constant(40), top_p=tf.constant(1.0),
                  num_samples=tf.constant(8), seed=tf.constant(0), allow_unk=tf.constant(False))
    signature(**inputs)  # warm-up
    start = time.monotonic()
    tokens = int(signature(**inputs)["length"].numpy().sum())
    seconds = time.monotonic() - start
    return {"generate_tokens_per_second": round(tokens / seconds, 1),
            "generate_batch": 8 * len(prompts), "generated_tokens": tokens}


def run(part: str, time_budget: float) -> dict:
    from pipelines import language_model as lm
    import seqtasks
    from seqtasks import config as config_lib

    config = config_lib.replace(lm.LanguageModelConfig(), **RECIPES[part],
                                time_budget=time_budget)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix=f"lm-{part}-") as work:
        train_path, valid_path = data_files(part, Path(work))
        log(f"{part}: training for at most {time_budget} min")
        start = time.monotonic()
        export_dir = lm.train(config, train_path, valid_path, Path(work) / "model", verbose=2)
        wall = time.monotonic() - start
        meta = json.loads((export_dir / "seqtasks.json").read_text())
        samples = seqtasks.load(export_dir).generate(PROMPTS[part], max_length=config.max_length,
                                                     top_k=10, seed=1)
        speed = sampling_speed(export_dir, PROMPTS[part])
    training = meta["training"]
    return {
        "metrics": {k: v for k, v in meta["metrics"].items() if k != "data"},
        "train_seconds": training["train_seconds"], "wall_seconds": round(wall, 1),
        "train_tokens_per_second": training["train_tokens_per_second"],
        "epochs_run": training["epochs_run"], "best_epoch": training["best_epoch"],
        "stopped_by": training["stopped_by"],
        "val_loss_per_epoch": [round(x, 4) for x in training["history"]["val_loss"]],
        **speed, "samples_top_k_10": [s[0] for s in samples],
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "config": {key: getattr(config, key) for key in (*RECIPES[part], "time_budget")},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=tuple(RECIPES), required=True)
    parser.add_argument("--time-budget", type=float, required=True, metavar="MIN",
                        help="training minutes (early stopping may end sooner)")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    result = {"part": args.only, "cpus": os.cpu_count(), args.only: run(args.only,
                                                                       args.time_budget)}
    RESULTS.mkdir(parents=True, exist_ok=True)
    from seqtasks.io import atomic_write_text

    atomic_write_text(RESULTS / f"lm_{args.only}.json", json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
