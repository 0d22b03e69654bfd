"""Pretrained word vectors: read (gensim), match to a vocabulary, and initialise an embedding.

Formats: GloVe text (no header), word2vec / fastText text (``.vec``, a "count dim" header) and
word2vec binary (``.bin``); any of them compressed (``.gz``, ``.bz2``). A first streamed pass
(``seqtasks.text.vectors_file``) names the first bad line, which gensim would not (a repeated
word, a NaN, a header that over- or undercounts, a truncated archive); then gensim's
``KeyedVectors`` reads it line by line into one preallocated array, so a large file is never
held twice in memory.

An ``embeddings`` value is a file, a registered name (``glove-6b-50d``: vectors a package ships,
``seqtasks.text.named_vectors``), or several of them joined by commas: stacked embeddings, each
token's vectors from every set side by side (flair's ``StackedEmbeddings``), each set matched to the
vocabulary on its own.

The vocabulary a pipeline builds is its training words **plus** the most frequent pretrained
words up to ``max_vocab_size`` (Lample et al. 2016), so a word never seen in training still has
its vector at test time. Words are matched exactly, then by the pipeline's own normalisation of
the vectors' words (case folding, digits to 0), then lower-cased.
"""

from __future__ import annotations

import collections
import dataclasses
import hashlib
import json
import logging
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from seqtasks.errors import ConfigError, DataError
from seqtasks.io import atomic_write_text
from seqtasks.text import named_vectors
from seqtasks.text.vectors_file import (FIX_HINT, check_header, first_line, is_binary,
                                        locate_binary_problem, locate_text_problem,
                                        parse_header)
from seqtasks.text.vocab import PAD_ID, RESERVED, Vocabulary

EMBEDDING_FIELDS = ("embeddings", "source_embeddings", "target_embeddings")


def vector_sources(spec) -> list[str]:
    """The vector sets of an ``embeddings`` value: one file or registered name, or several
    joined by commas (stacked). A file whose own name holds a comma is still one file."""
    spec = str(spec)
    if Path(spec).exists():
        return [spec]
    sources = [source.strip() for source in spec.split(",")]
    if not all(sources):
        raise ConfigError(f"embeddings={spec!r}: an empty entry in the list (write files or "
                          "names joined by single commas, e.g. glove-6b-50d,vectors.txt)")
    if len(set(sources)) != len(sources):
        raise ConfigError(f"embeddings={spec!r} names one vector set twice")
    return sources


def vectors_dimension(spec) -> int:
    """The vectors' dimension, from the header or the first row (no full read); for stacked
    vectors, the sum of their dimensions."""
    return sum(_source_dimension(source) for source in vector_sources(spec))


def _source_dimension(source: str) -> int:
    if named_vectors.is_name(source):
        vectors = named_vectors.entry(source)
        named_vectors.package_folder(vectors)  # not installed: say the pip command now
        return vectors.dim
    path = Path(source)
    line, n_fields = first_line(path)
    header = parse_header(line)
    if header:
        check_header(path, *header)
        return header[1]
    if is_binary(path):
        raise DataError(path, "a word2vec binary file starts with a 'count dim' header line",
                        line=1, hint=FIX_HINT)
    return n_fields - 1


def with_vectors_dimension(config):
    """``config`` with ``embedding_dim`` taken from its vectors file(s). An ``embedding_dim``
    other than the default that disagrees with the file is an error, as are source and target
    vectors of different sizes."""
    paths = {name: getattr(config, name) for name in EMBEDDING_FIELDS
             if getattr(config, name, "")}
    if not paths:
        return config
    if getattr(config, "init_from", ""):
        raise ConfigError("embeddings and init_from both initialise the embedding: the LM's "
                          "embedding already holds pretrained rows; drop one of them")
    dims = {name: vectors_dimension(path) for name, path in paths.items()}
    if len(set(dims.values())) > 1:
        raise ConfigError("the vectors files differ in size ("
                          + ", ".join(f"{name}: {dim}" for name, dim in dims.items())
                          + "): the encoder and decoder share embedding_dim; use vectors of "
                          "one size")
    (dim,) = set(dims.values())
    default = {f.name: f.default for f in dataclasses.fields(config)}["embedding_dim"]
    if config.embedding_dim not in (dim, default):
        name, path = next(iter(paths.items()))
        raise ConfigError(f"embedding_dim={config.embedding_dim}, but {name}={path} holds "
                          f"{dim}-dimensional vectors: the vectors set the size (drop "
                          f"embedding_dim or set it to {dim})")
    return dataclasses.replace(config, embedding_dim=dim)


def file_facts(path: Path) -> dict:
    """Name, size and sha256 of a vectors file: what a model was initialised from."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return {"file": path.name, "bytes": path.stat().st_size, "sha256": digest.hexdigest()}


@dataclasses.dataclass
class WordVectors:
    """The words of a vectors file in file order (most frequent first) and their matrix."""

    path: Path
    words: list[str]
    matrix: np.ndarray  # float32 [len(words), dim]
    name: str = ""  # the registered name, for vectors given by name

    @property
    def dim(self) -> int:
        return int(self.matrix.shape[1])

    def facts(self) -> dict:
        """What a model was initialised from: the file (name, size, sha256) or the named set."""
        if self.name:
            return {"file": self.name, **named_vectors.facts(self.name)}
        return file_facts(self.path)


def read_vectors(source) -> WordVectors:
    """Read one vector set: a registered name (from its package, checksum-verified) or a file
    (gensim, after ``vectors_file`` has checked it, streamed: a bad file is a DataError naming
    file:line)."""
    from gensim.models import KeyedVectors

    if named_vectors.is_name(str(source)):
        words, matrix, matrix_path = named_vectors.load(str(source))
        return WordVectors(matrix_path, words, matrix, name=str(source))
    path = Path(source)
    line, _ = first_line(path)
    header = parse_header(line)
    if is_binary(path):
        if header is None:
            raise DataError(path, "a word2vec binary file starts with a 'count dim' header line",
                            line=1, hint=FIX_HINT)
        check_header(path, *header)
        locate_binary_problem(path, *header)
    else:
        if header:
            check_header(path, *header)
        locate_text_problem(path, header)
    logging.getLogger("gensim").setLevel(logging.WARNING)
    try:
        vectors = KeyedVectors.load_word2vec_format(
            str(path), binary=is_binary(path), no_header=header is None,
            unicode_errors="strict")
    except (ValueError, EOFError, UnicodeDecodeError) as e:  # checked above: should not happen
        raise DataError(path, f"gensim cannot read it ({e})", hint=FIX_HINT) from None
    return WordVectors(path, list(vectors.index_to_key), vectors.vectors.astype(np.float32))


# --- Matching a vocabulary -----------------------------------------------------------------------

Forms = Callable[[list[str]], list[str]]  # a pipeline's normalisation of raw words (in-graph)


def normalised_forms(lowercase: bool, digits_to_zero: bool = False) -> Forms:
    """A pipeline's word normalisation, run in-graph (as training and serving run it)."""

    def forms(words: list[str]) -> list[str]:
        import tensorflow as tf

        from seqtasks.text.token_features import word_forms

        out = []
        for start in range(0, len(words), 65536):
            batch = tf.constant(words[start:start + 65536] or [""], tf.string)
            out += [f.decode("utf-8") for f in word_forms(batch, lowercase, digits_to_zero).numpy()]
        return out[:len(words)]

    return forms


def sentence_forms(sentences, forms: Forms):
    """Tokenized sentences as their normalised forms, lazily (for the coverage report)."""
    unique = sorted({token for sentence in sentences for token in sentence})
    form_of = dict(zip(unique, forms(unique)))
    for sentence in sentences:
        yield [form_of[token] for token in sentence]


class VectorIndex:
    """Where a vocabulary token's vector is: exact word, same normalised form, lower-cased."""

    def __init__(self, vectors: WordVectors, forms: Forms):
        self.vectors = vectors
        self.exact = {word: i for i, word in enumerate(vectors.words)}
        self.by_form: dict[str, int] = {}
        for i, form in enumerate(forms(vectors.words)):
            self.by_form.setdefault(form, i)  # file order: the most frequent word wins
        self.forms = list(self.by_form)  # distinct forms, most frequent first

    def row(self, token: str) -> int | None:
        for table, key in ((self.exact, token), (self.by_form, token),
                           (self.exact, token.lower())):
            if key in table:
                return table[key]
        return None


def extend_vocabulary(vocabulary: Vocabulary, index: VectorIndex | list[VectorIndex],
                      max_size: int) -> Vocabulary:
    """The training vocabulary plus the most frequent pretrained forms, up to ``max_size``
    (stacked vectors: the first set's forms first, then the next set's)."""
    tokens = list(vocabulary.tokens)
    known = set(tokens)
    for one in (index if isinstance(index, list) else [index]):
        for form in one.forms:
            if len(tokens) >= max_size:
                return Vocabulary(tokens)
            if form and form not in known:
                tokens.append(form)
                known.add(form)
    return Vocabulary(tokens)


@dataclasses.dataclass
class EmbeddingInit:
    """An embedding matrix for a vocabulary, and what it was made from (for the summary)."""

    matrix: np.ndarray | None  # None: no rows to start from (a checkpoint holds the weights)
    report: dict

    def save(self, path: Path) -> None:
        """The report at ``path`` (JSON), and the matrix beside it (``.npy``): a run that
        reads what was prepared (a child on another backend, a resumed run) starts from the
        same rows."""
        from seqtasks.io import atomic_path

        if self.matrix is not None:
            with atomic_path(_matrix_path(path), suffix=".tmp.npy") as temporary:
                np.save(temporary, self.matrix)
        atomic_write_text(path, json.dumps(self.report, indent=2))

    @classmethod
    def load(cls, path: Path) -> "EmbeddingInit":
        matrix = _matrix_path(path)
        return cls(np.load(matrix, allow_pickle=False) if matrix.is_file() else None,
                   json.loads(Path(path).read_text(encoding="utf-8")))


def _matrix_path(report_path: Path) -> Path:
    return Path(report_path).with_suffix(".npy")


def _vectors_block(vocabulary: Vocabulary, index: VectorIndex, rng) -> tuple[np.ndarray, list]:
    """One vector set's columns of the embedding: its row where a token has one, else drawn at
    the set's scale (normal, its standard deviation). Also each token's row (None: drawn)."""
    vectors = index.vectors
    scale = float(vectors.matrix.std())
    block = rng.normal(0.0, scale, (len(vocabulary), vectors.dim)).astype(np.float32)
    rows = [index.row(token) for token in vocabulary.tokens]
    for i, row in enumerate(rows):
        if row is not None and i >= len(RESERVED):
            block[i] = vectors.matrix[row]
    return block, rows


def embedding_init(vocabulary: Vocabulary, index: VectorIndex | list[VectorIndex],
                   train_counts: collections.Counter, seed: int) -> EmbeddingInit:
    """Rows from the vectors where a token has one; the others drawn at the vectors' scale;
    [PAD] zero. Stacked vectors: one block of columns a set, side by side; a token counts as
    covered when any set has it."""
    indexes = index if isinstance(index, list) else [index]
    rng = np.random.default_rng(seed)
    blocks, rows_of = zip(*(_vectors_block(vocabulary, one, rng) for one in indexes))
    matrix = np.concatenate(blocks, axis=1)
    matrix[PAD_ID] = 0.0
    rows = [next((r for r in token_rows if r is not None), None) for token_rows in zip(*rows_of)]
    sets = [one.vectors for one in indexes]
    report = {**_coverage(vocabulary, rows, train_counts), "dim": int(matrix.shape[1])}
    if len(sets) == 1:
        return EmbeddingInit(matrix, {**sets[0].facts(), "vectors": len(sets[0].words), **report})
    parts = [{**v.facts(), "vectors": len(v.words), "dim": v.dim,
              **_coverage(vocabulary, part_rows, train_counts)}
             for v, part_rows in zip(sets, rows_of)]
    return EmbeddingInit(matrix, {"file": " + ".join(part["file"] for part in parts),
                                  "vectors": sum(len(v.words) for v in sets), **report,
                                  "stacked": parts})


def _coverage(vocabulary: Vocabulary, rows: list, train_counts: collections.Counter) -> dict:
    """How much of the vocabulary and of the training text has a vector (``rows``: each
    vocabulary token's row, None for none)."""
    covered = {token for token, row in zip(vocabulary.tokens, rows) if row is not None}
    total = sum(train_counts.values())
    return {"vocab_rows_with_vector": sum(r is not None for r in rows[len(RESERVED):]),
            "train_token_coverage": round(sum(c for t, c in train_counts.items()
                                              if t in covered) / max(total, 1), 4),
            "train_type_coverage": round(sum(t in covered for t in train_counts)
                                         / max(len(train_counts), 1), 4)}
    return EmbeddingInit(matrix, report)


def pretrained_vocabulary(path, vocabulary: Vocabulary, train_tokens: Iterable[Iterable[str]],
                          forms: Forms, max_size: int, seed: int, report_path: Path
                          ) -> tuple[Vocabulary, EmbeddingInit | None]:
    """What a word-level pipeline does with ``embeddings=path`` (nothing when ``path`` is
    empty; a name or several sets joined by commas work as in ``vector_sources``): read the vectors, extend the training ``vocabulary`` with pretrained words, make the
    embedding matrix and keep its report in ``report_path`` (for a resumed run).
    ``train_tokens``: the training sentences as vocabulary tokens (for the coverage report)."""
    if not path:
        return vocabulary, None
    indexes = [VectorIndex(read_vectors(source), forms) for source in vector_sources(path)]
    vocabulary = extend_vocabulary(vocabulary, indexes, max_size)
    counts = collections.Counter(token for tokens in train_tokens for token in tokens)
    init = embedding_init(vocabulary, indexes, counts, seed)
    init.save(report_path)
    return vocabulary, init


def resumed_embedding(path, report_path: Path) -> EmbeddingInit | None:
    """A resumed run's vectors: the report, and the rows it started from when they were saved
    (a checkpoint, when there is one, holds the trained weights)."""
    return EmbeddingInit.load(report_path) if path else None


def assign_embedding(layer, init: EmbeddingInit | None, trainable: bool) -> tuple[str, ...]:
    """Put ``init``'s matrix into an embedding layer (``keras.layers.Embedding`` or
    ``TiedEmbedding``, built; a resumed run's ``init`` has none: its checkpoint holds it) and
    freeze it unless ``trainable``. Returns the path of the variable it initialises."""
    if init is None:
        return ()
    layer.trainable = trainable
    if init.matrix is not None:
        if tuple(layer.embeddings.shape) != init.matrix.shape:
            raise ValueError(f"{layer.name}: embedding {tuple(layer.embeddings.shape)} != "
                             f"vectors {init.matrix.shape}")
        layer.embeddings.assign(init.matrix)
    return (layer.embeddings.path,)


def coverage_line(report: dict, name: str = "embeddings") -> str:
    """One line for the training log (stacked vectors: the whole, then each set's part)."""
    parts = "".join(f"; {coverage_line(part, '  ' + name + ' part')}"
                    for part in report.get("stacked", ()))
    return (f"{name}: {report['file']} ({report['vectors']:,} x {report['dim']}) covers "
            f"{report['train_token_coverage']:.1%} of the training tokens, "
            f"{report['train_type_coverage']:.1%} of their types" + parts)
