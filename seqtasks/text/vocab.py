"""Vocabulary with reserved PAD/UNK/BOS/EOS, built by count, saved as a text asset.

``Vocabulary`` is plain Python (build, save, load, encode); ``VocabularyLookup`` is its in-graph
twin (token -> id and id -> token hash tables) that an exported SavedModel carries.
"""

from __future__ import annotations

import collections
from pathlib import Path
from typing import Iterable

from seqtasks.errors import DataError
from seqtasks.io import atomic_write_text

PAD, UNK, BOS, EOS = "[PAD]", "[UNK]", "[BOS]", "[EOS]"
RESERVED = (PAD, UNK, BOS, EOS)
PAD_ID, UNK_ID, BOS_ID, EOS_ID = range(4)


def unknown_share(ids) -> float:
    """The share of [UNK] among the real tokens (not [PAD], [BOS], [EOS]) of ``ids``: a
    tf.RaggedTensor, a tensor or an array of token ids."""
    import numpy as np
    import tensorflow as tf

    if isinstance(ids, tf.RaggedTensor):
        ids = ids.flat_values
    flat = np.asarray(ids).ravel()
    real = flat[~np.isin(flat, (PAD_ID, BOS_ID, EOS_ID))]
    return float(np.mean(real == UNK_ID)) if real.size else 0.0

# One token per line; these escapes let character vocabularies hold newlines and tabs.
_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_UNESCAPES = {v: k for k, v in _ESCAPES.items()}


def _escape(token: str) -> str:
    return "".join(_ESCAPES.get(ch, ch) for ch in token)


def _unescape(line: str) -> str:
    out, i = [], 0
    while i < len(line):
        pair = line[i : i + 2]
        if pair in _UNESCAPES:
            out.append(_UNESCAPES[pair])
            i += 2
        else:
            out.append(line[i])
            i += 1
    return "".join(out)


class Vocabulary:
    """Ids 0-3 are PAD, UNK, BOS, EOS; the rest are tokens by descending frequency."""

    def __init__(self, tokens: Iterable[str]):
        tokens = list(tokens)
        if tuple(tokens[: len(RESERVED)]) != RESERVED:
            tokens = list(RESERVED) + [t for t in tokens if t not in RESERVED]
        if len(set(tokens)) != len(tokens):
            raise ValueError("Vocabulary tokens must be unique")
        self.tokens = tokens
        self.index = {token: i for i, token in enumerate(tokens)}

    @classmethod
    def build(
        cls, sequences: Iterable[Iterable[str]], min_count: int = 1, max_size: int | None = None
    ) -> "Vocabulary":
        """Count tokens; keep those seen ``min_count`` times, the ``max_size`` most frequent.

        Ties are broken alphabetically so the same data always gives the same ids.
        """
        counts = collections.Counter(token for seq in sequences for token in seq)
        for token in RESERVED:
            counts.pop(token, None)
        kept = sorted(
            (t for t, c in counts.items() if c >= min_count), key=lambda t: (-counts[t], t)
        )
        if max_size is not None:
            kept = kept[: max(0, max_size - len(RESERVED))]
        return cls(list(RESERVED) + kept)

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: str) -> bool:
        return token in self.index

    def encode(self, tokens: Iterable[str]) -> list[int]:
        return [self.index.get(t, UNK_ID) for t in tokens]

    def decode(self, ids: Iterable[int]) -> list[str]:
        return [self.tokens[i] if 0 <= i < len(self.tokens) else UNK for i in ids]

    def save(self, path: str | Path) -> None:
        atomic_write_text(path, "".join(_escape(t) + "\n" for t in self.tokens))

    @classmethod
    def load(cls, path: str | Path) -> "Vocabulary":
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as e:
            raise DataError(path, f"cannot read vocabulary ({e.strerror})") from None
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        tokens = [_unescape(line) for line in lines]
        if tuple(tokens[: len(RESERVED)]) != RESERVED:
            raise DataError(path, "not a seqtasks vocabulary", line=1,
                            hint=f"the first lines must be {', '.join(RESERVED)}")
        return cls(tokens)


class VocabularyLookup:
    """In-graph token <-> id mapping; a SavedModel that tracks it needs no Python to map tokens."""

    def __init__(self, vocabulary: Vocabulary):
        import tensorflow as tf

        keys = tf.constant(vocabulary.tokens, dtype=tf.string)
        ids = tf.range(len(vocabulary.tokens), dtype=tf.int64)
        self.token_to_id = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(keys, ids), default_value=UNK_ID
        )
        self.id_to_token = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(ids, keys), default_value=UNK
        )

    def ids(self, tokens):
        """Token strings (tensor or ragged) -> int64 ids, unknown tokens -> UNK_ID."""
        import tensorflow as tf

        if isinstance(tokens, tf.RaggedTensor):
            return tokens.with_flat_values(self.token_to_id.lookup(tokens.flat_values))
        return self.token_to_id.lookup(tokens)

    def tokens(self, ids):
        import tensorflow as tf

        ids = tf.cast(ids, tf.int64)
        if isinstance(ids, tf.RaggedTensor):
            return ids.with_flat_values(self.id_to_token.lookup(ids.flat_values))
        return self.id_to_token.lookup(ids)
