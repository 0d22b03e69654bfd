"""Plain-text corpora for language models: streamed in chunks of lines, encoded to an int32 id
file, and read back as ``batch_size`` contiguous streams in truncated-BPTT windows.

Only one chunk of text is in memory at a time; the ids live in a memory-mapped file, so a corpus
larger than memory trains (the vocabulary's counts must fit).
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np
import tensorflow as tf

from seqtasks.data.batching import finished
from seqtasks.errors import ConfigError, DataError
from seqtasks.io import atomic_path, iter_text_lines
from seqtasks.text.vocab import BOS_ID, EOS_ID, PAD_ID, Vocabulary

MARKERS = (PAD_ID, BOS_ID, EOS_ID)  # ids that are not tokens of the text


def iter_line_chunks(path: str | Path, lines_per_chunk: int = 2048) -> Iterator[str]:
    """The file as texts of up to ``lines_per_chunk`` whole lines, in order, each line ended by
    "\n" whatever its ending in the file (CRLF, lone CR; the last line keeps having none).

    Raises DataError for a missing, empty or non-UTF-8 file (with the line of the bad bytes).
    """
    path = Path(path)
    if path.is_file() and path.stat().st_size == 0:
        raise DataError(path, "file is empty", hint="a corpus needs at least one line of text")
    lines: list[str] = []
    for _, line in iter_text_lines(path):
        lines.append(line)
        if len(lines) == lines_per_chunk:
            yield "\n".join(lines) + "\n"
            lines = []
    if lines:
        yield "\n".join(lines) + ("\n" if _ends_with_line_break(path) else "")


def _ends_with_line_break(path: Path) -> bool:
    with path.open("rb") as handle:
        handle.seek(-1, 2)
        return handle.read(1) in (b"\n", b"\r")


def build_vocabulary(path: str | Path, tokens: Callable[[tf.Tensor], tf.RaggedTensor],
                     min_count: int, max_size: int | None) -> Vocabulary:
    """Count the tokens of a corpus in one streamed pass (``tokens``: texts -> ragged tokens)."""
    return Vocabulary.build(corpus_tokens(path, tokens), min_count, max_size)


def corpus_tokens(path: str | Path, tokens: Callable[[tf.Tensor], tf.RaggedTensor]
                  ) -> Iterable[list[str]]:
    """The tokens of a corpus, a chunk of lines at a time (streamed); a corpus without any is
    a DataError."""
    found = 0
    for chunk in iter_line_chunks(path):
        chunk_tokens = [t.decode("utf-8") for t in tokens(tf.constant([chunk])).flat_values.numpy()]
        found += len(chunk_tokens)
        yield chunk_tokens
    if not found:
        raise DataError(path, "no tokens: every line is blank",
                        hint="a language model needs text to learn from")


def encode_corpus(path: str | Path, encode: Callable[..., tf.RaggedTensor], ids_path: Path
                  ) -> np.ndarray:
    """Encode a corpus chunk by chunk into ``ids_path`` (raw int32); return it memory-mapped.

    ``encode(texts, start_with_bos)`` is a ``LineEncoder.encode``: only the first chunk starts
    the corpus, so running text gets one [BOS].
    """
    n_tokens = n_words = 0
    with atomic_path(ids_path) as tmp, tmp.open("wb") as out:
        for index, chunk in enumerate(iter_line_chunks(path)):
            ids = encode(tf.constant([chunk]), start_with_bos=index == 0).flat_values.numpy()
            out.write(ids.astype(np.int32).tobytes())
            n_tokens += len(ids)
            n_words += int(np.count_nonzero(~np.isin(ids, MARKERS)))
        if n_words == 0:  # only [BOS]/[EOS]: a model of line ends, not of the text
            raise DataError(path, "no tokens: every line is blank",
                            hint="a language model needs text to learn from")
    if n_tokens < 2:
        raise DataError(path, f"only {n_tokens} token(s)",
                        hint="a language model needs at least two tokens to predict one")
    return np.memmap(ids_path, dtype=np.int32, mode="r")


@dataclasses.dataclass(frozen=True)
class StreamLayout:
    """Truncated BPTT over one sequence of ``n_tokens`` ids.

    The (input, target) pairs ``(ids[j], ids[j + 1])`` are cut into ``batch_size`` contiguous
    streams of ``stream_length`` pairs (row ``b`` of every batch continues stream ``b``). Window
    ``i`` holds ``steps`` (k2) pairs per stream and advances ``stride`` (k1) pairs: its last
    ``stride`` pairs are new and weighted 1; its first ``steps - stride`` were scored by window
    ``i - 1`` and only let gradients flow further back (weight 0). A model that carries its
    recurrent state from the end of a window's first ``stride`` steps into the next window sees
    every stream as one sequence. Every target is weighted exactly once; padding weighs 0.
    """

    n_tokens: int
    batch_size: int
    steps: int
    stride: int

    def __post_init__(self):
        if self.steps < 1 or not 1 <= self.stride <= self.steps:
            raise ConfigError(f"need 1 <= bptt_stride (k1) <= bptt_steps (k2), got "
                              f"k1={self.stride}, k2={self.steps}")
        if self.batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {self.batch_size}")

    @property
    def stream_length(self) -> int:
        return math.ceil((self.n_tokens - 1) / self.batch_size)

    @property
    def n_windows(self) -> int:
        return math.ceil(self.stream_length / self.stride)

    def window(self, ids: np.ndarray, index: int, ignored_targets: tuple[int, ...] = ()
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(inputs, targets)`` int32 and ``weights`` float32, each [batch_size, steps]."""
        offsets = np.arange(self.steps)
        position = index * self.stride - (self.steps - self.stride) + offsets  # in the stream
        pair = np.arange(self.batch_size)[:, None] * self.stream_length + position[None, :]
        valid = (position >= 0) & (position < self.stream_length) & (pair < self.n_tokens - 1)
        pair = np.where(valid, pair, 0)
        inputs = np.where(valid, ids[pair], PAD_ID).astype(np.int32)
        targets = np.where(valid, ids[pair + 1], PAD_ID).astype(np.int32)
        weighted = valid & (offsets >= self.steps - self.stride) & ~np.isin(targets,
                                                                              ignored_targets)
        return inputs, targets, weighted.astype(np.float32)


def tbptt_dataset(ids: np.ndarray, layout: StreamLayout, ignored_targets: tuple[int, ...] = ()
                  ) -> tf.data.Dataset:
    """The windows of ``layout`` in order, as (inputs, targets, weights) batches; never shuffle
    them: the recurrent state carried from one window to the next must match."""

    def windows():
        for index in range(layout.n_windows):
            yield layout.window(ids, index, ignored_targets)

    spec = tf.TensorSpec([layout.batch_size, layout.steps], tf.int32)
    dataset = tf.data.Dataset.from_generator(
        windows, output_signature=(spec, spec, tf.TensorSpec(spec.shape, tf.float32)))
    return finished(dataset.apply(tf.data.experimental.assert_cardinality(layout.n_windows)),
                    buffer=4)
