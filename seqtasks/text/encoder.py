"""Raw strings -> token ids, the one function shared by tf.data input and the exported graph."""

from __future__ import annotations

import tensorflow as tf

from seqtasks.text.tokenizers import make_tokenizer
from seqtasks.text.vocab import PAD_ID, RESERVED, UNK_ID, Vocabulary, VocabularyLookup


class TextEncoder:
    """Tokenize, map to ids, truncate to ``max_length`` (longer inputs keep their first tokens)."""

    def __init__(self, vocabulary: Vocabulary, level: str, lowercase: bool, max_length: int):
        self.vocabulary = vocabulary
        self.tokenizer = make_tokenizer(level, lowercase, vocabulary.tokens)
        self.lookup = VocabularyLookup(vocabulary)
        self.max_length = max_length

    @property
    def resources(self) -> list:
        """Lookup tables an export must track."""
        return [self.lookup.token_to_id, self.lookup.id_to_token]

    def tokens(self, texts: tf.Tensor) -> tf.RaggedTensor:
        return self.tokenizer(texts)[:, : self.max_length]

    def __call__(self, texts: tf.Tensor) -> tf.RaggedTensor:
        return self.lookup.ids(self.tokens(texts))

    def dense(self, texts: tf.Tensor) -> tf.Tensor:
        """Padded [batch, time] ids with time >= 1, so an all-empty batch still runs."""
        return pad_dense(self(texts))

    def decode(self, ids: tf.RaggedTensor) -> tf.Tensor:
        """Ragged ids [batch, (time)] -> strings [batch]: the tokens joined as the tokenizer
        writes text (WordPiece pieces glued back into words); [PAD], [BOS], [EOS] dropped."""
        ids = tf.cast(ids, tf.int64)
        kept = tf.ragged.map_flat_values(
            lambda flat: tf.logical_or(flat >= len(RESERVED), tf.equal(flat, UNK_ID)), ids)
        return self.tokenizer.join(self.lookup.tokens(tf.ragged.boolean_mask(ids, kept)))


def pad_dense(ids) -> tf.Tensor:
    """Ragged or dense [batch, time] ids -> dense, padded with PAD_ID to at least one step."""
    if isinstance(ids, tf.RaggedTensor):
        ids = ids.to_tensor(default_value=PAD_ID)
    short = tf.maximum(0, 1 - tf.shape(ids)[1])
    return tf.pad(ids, [[0, 0], [0, short]], constant_values=PAD_ID)
