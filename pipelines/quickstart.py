"""Quickstart: train a small sentiment model on the bundled sample, export it, reload the export
and print predictions. ``python -m pipelines.quickstart`` (a few minutes on 2 CPU cores)."""

from __future__ import annotations

import argparse
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "data" / "sentiment"
EXAMPLES = [
    "a gorgeous , witty , seductive movie .",
    "the plot is nothing but boilerplate clichés from start to finish .",
    "an utterly charming and hilarious film that reminded me why i love the movies",
    "it 's a bad sign when you 're rooting for the film to end .",
]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="saved_models/sentiment", help="export root")
    parser.add_argument("--epochs", type=int, default=8)
    args = parser.parse_args(argv)

    from pipelines.cli.main import _quiet_tensorflow

    _quiet_tensorflow()
    import seqtasks
    from pipelines import sentiment

    # A small model for the 480-sentence sample (the SST-2 recipe is the default).
    config = sentiment.SentimentConfig(epochs=args.epochs, embedding_dim=64, units=64, dropout=0.3,
                                       min_count=1, early_stopping_patience=3)
    print(f"training on {DATA / 'train.tsv'} ({args.epochs} epochs max) ...")
    export_dir = sentiment.train(config, DATA / "train.tsv", DATA / "valid.tsv", args.out)
    print(f"\nexported to {export_dir}")

    predictor = seqtasks.load(args.out)  # reload the newest export, as a serving system would
    metrics = predictor.metadata["metrics"]
    print(f"validation accuracy {metrics['accuracy']:.3f} on {metrics['n']} sentences "
          "(a 480-sentence sample: expect well below the SST-2 benchmark)\n")
    for text, result in zip(EXAMPLES, predictor.predict(EXAMPLES)):
        print(f"{result['label']:>4}  {result['probabilities'][result['label']]:.2f}  {text}")


if __name__ == "__main__":
    main()
