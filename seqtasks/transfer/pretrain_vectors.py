"""``seqtasks pretrain vectors``: word vectors trained with gensim on plain text.

The corpus is tokenized by the shared in-graph tokenizer with the normalisation the pipelines'
embeddings look words up by (case folding, digits to 0: ``seqtasks.text.token_features``), into a
temporary one-sentence-a-line file that gensim's ``corpus_file`` mode trains from on every core.
The vectors are written as word2vec text (``count dim`` header; ``.gz`` compressed) or binary
(``.bin``), atomically.
"""

from __future__ import annotations

import dataclasses
import gzip
import logging
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from seqtasks.errors import DataError
from seqtasks.io import atomic_path

METHODS = ("word2vec", "fasttext")
LINES_PER_BATCH = 4096


@dataclasses.dataclass
class VectorsRecipe:
    """Defaults: skip-gram word2vec, 100 dimensions, 5 epochs over the corpus (the
    ``seqtasks pretrain vectors`` defaults the transfer benchmarks use)."""

    method: str = "word2vec"
    dim: int = 100
    epochs: int = 5
    window: int = 5
    min_count: int = 5
    max_words: int | None = 200_000  # the most frequent words kept (None: every word)
    lowercase: bool = True
    digits_to_zero: bool = True
    workers: int = max(os.cpu_count() or 1, 1)
    seed: int = 42
    decimals: int = 5  # digits after the point in text output

    def check(self) -> None:
        if self.method not in METHODS:
            raise DataError("--method", f"unknown method '{self.method}'",
                            hint=f"choose one of {', '.join(METHODS)}")
        for name in ("dim", "epochs", "window", "min_count", "workers"):
            if getattr(self, name) < 1:
                raise DataError(f"--{name.replace('_', '-')}", "must be at least 1")


def tokenize_corpus(paths, out: Path, recipe: VectorsRecipe, progress=None) -> dict:
    """Write the normalised tokens of every line of ``paths`` to ``out`` (space-separated, one
    line per non-empty input line); returns line, word and byte counts."""
    import tensorflow as tf

    from seqtasks.text.token_features import word_forms
    from seqtasks.text.tokenizers import WordTokenizer

    tokenizer = WordTokenizer(lowercase=recipe.lowercase)
    counts = {"lines": 0, "words": 0}

    def write(batch, sink):
        tokens = word_forms(tokenizer(tf.constant(batch)), recipe.lowercase,
                            recipe.digits_to_zero)
        counts["words"] += int(tokens.flat_values.shape[0])
        for line in tf.strings.reduce_join(tokens, axis=-1, separator=" ").numpy():
            if line:
                sink.write(line + b"\n")
                counts["lines"] += 1

    done = 0
    with open(out, "wb") as sink:
        for path in paths:
            batch = []
            with open(path, "rb") as source:
                for line in source:
                    done += len(line)
                    batch.append(line.rstrip(b"\r\n"))
                    if len(batch) == LINES_PER_BATCH:
                        write(batch, sink)
                        batch = []
                        if progress:
                            progress(done)
            if batch:
                write(batch, sink)
            if progress:
                progress(done)
    return counts


def check_corpus(paths) -> list[Path]:
    paths = [Path(p) for p in paths]
    if not paths:
        raise DataError("--corpus", "no corpus file given", hint="--corpus FILE [FILE ...]")
    for path in paths:
        if not path.is_file():
            raise DataError(path, "no such corpus file", hint="plain text, one sentence, "
                            "paragraph or document a line")
    return paths


def pretrain_vectors(corpus, out, recipe: VectorsRecipe | None = None, verbose: bool = True
                     ) -> dict:
    """Train word vectors on the plain-text files ``corpus``; write them to ``out``; return what
    was done (corpus words, vocabulary, minutes, output file)."""
    import keras
    from gensim.models import FastText, Word2Vec
    from gensim.models.callbacks import CallbackAny2Vec

    recipe = recipe or VectorsRecipe()
    recipe.check()
    paths = check_corpus(corpus)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    logging.getLogger("gensim").setLevel(logging.WARNING)

    total_bytes = sum(p.stat().st_size for p in paths)
    bar = keras.utils.Progbar(total_bytes, unit_name="byte", verbose=1 if verbose else 0)
    with tempfile.TemporaryDirectory(prefix=".seqtasks-vectors-", dir=out.parent) as work:
        tokens = Path(work) / "corpus.txt"
        if verbose:
            print(f"tokenizing {len(paths)} file(s), {total_bytes / 1e6:,.1f} MB", flush=True)
        counts = tokenize_corpus(paths, tokens, recipe, progress=bar.update)
        if counts["words"] == 0:
            raise DataError(paths[0], "the corpus holds no words",
                            hint="plain UTF-8 text, one sentence or paragraph a line")
        tokenize_seconds = time.monotonic() - start

        class EpochBar(CallbackAny2Vec):
            def __init__(self):
                self.bar = keras.utils.Progbar(recipe.epochs, unit_name="epoch",
                                               verbose=1 if verbose else 0)
                self.epoch = 0

            def on_epoch_end(self, model):
                self.epoch += 1
                self.bar.update(self.epoch)

        if verbose:
            print(f"training {recipe.method} ({recipe.dim} dims, {recipe.epochs} epochs, "
                  f"{recipe.workers} workers) on {counts['words']:,} words", flush=True)
        model_class = Word2Vec if recipe.method == "word2vec" else FastText
        model = model_class(corpus_file=str(tokens), vector_size=recipe.dim,
                            window=recipe.window, min_count=recipe.min_count,
                            max_final_vocab=recipe.max_words, sg=1, negative=5,
                            epochs=recipe.epochs, workers=recipe.workers, seed=recipe.seed,
                            callbacks=[EpochBar()])
    write_vectors(out, model.wv.index_to_key, model.wv.vectors, recipe.decimals)
    facts = {"out": str(out), "method": recipe.method, "dim": recipe.dim,
             "epochs": recipe.epochs, "corpus": [str(p) for p in paths],
             "corpus_lines": counts["lines"], "corpus_words": counts["words"],
             "vectors": len(model.wv.index_to_key),
             "tokenize_seconds": round(tokenize_seconds, 1),
             "minutes": round((time.monotonic() - start) / 60, 2)}
    if verbose:
        print(f"wrote {facts['vectors']:,} x {recipe.dim} vectors to {out} in "
              f"{facts['minutes']:.1f} min", flush=True)
    return facts


def write_vectors(out: Path, words: list[str], matrix: np.ndarray, decimals: int = 5) -> None:
    """word2vec text (``count dim`` header), gzipped for ``.gz``; word2vec binary for ``.bin``;
    atomically."""
    with atomic_path(out) as tmp:
        if ".bin" in out.suffixes:
            from gensim.models import KeyedVectors

            vectors = KeyedVectors(matrix.shape[1])
            vectors.add_vectors(words, matrix)
            vectors.save_word2vec_format(str(tmp), binary=True)
            return
        opener = gzip.open if out.suffix == ".gz" else open
        with opener(tmp, "wt", encoding="utf-8", newline="\n") as f:
            f.write(f"{len(words)} {matrix.shape[1]}\n")
            for word, row in zip(words, matrix):
                f.write(word + " " + " ".join(f"{x:.{decimals}f}" for x in row) + "\n")
