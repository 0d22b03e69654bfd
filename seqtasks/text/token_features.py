"""Raw tokens -> what a tagger reads: word ids, character ids of each word, casing classes.

One ``TokenFeatures`` object prepares the training batches (tf.data) and the tokens inside an
exported graph, so the two can never disagree. Words are NFKC-normalised, optionally case-folded
and with digits mapped to 0 (``1996`` and ``2001`` share an embedding; the characters and the
casing class still tell them apart); characters are the shared ``CharTokenizer``'s, case kept.
"""

from __future__ import annotations

from typing import Sequence

import tensorflow as tf

from seqtasks.text.casing import casing_ids
from seqtasks.text.tokenizers import CharTokenizer, normalize, tokenize_to_python
from seqtasks.text.vocab import Vocabulary, VocabularyLookup


def word_forms(tokens, lowercase: bool, digits_to_zero: bool):
    """The form a word embedding is looked up by (string tensor or ragged tensor)."""
    forms = normalize(tokens, lowercase)
    if not digits_to_zero:
        return forms
    if isinstance(forms, tf.RaggedTensor):
        return forms.with_flat_values(tf.strings.regex_replace(forms.flat_values, r"\p{Nd}", "0"))
    return tf.strings.regex_replace(forms, r"\p{Nd}", "0")


def build_vocabularies(sentences: Sequence[Sequence[str]], lowercase: bool, digits_to_zero: bool,
                       min_count: int = 1, max_size: int | None = None
                       ) -> tuple[Vocabulary, Vocabulary]:
    """Word and character vocabularies of tokenized training sentences."""
    unique = sorted({token for sentence in sentences for token in sentence})
    forms = word_forms(tf.constant(unique or [""]), lowercase, digits_to_zero).numpy()
    form_of = {token: form.decode("utf-8") for token, form in zip(unique, forms)}
    words = Vocabulary.build(([form_of[t] for t in sentence] for sentence in sentences),
                             min_count, max_size)
    chars_of = dict(zip(unique, tokenize_to_python(CharTokenizer(lowercase=False), unique)))
    chars = Vocabulary.build(chars_of[t] for sentence in sentences for t in sentence)
    return words, chars


class TokenFeatures:
    """Ragged tokens [batch, (words)] -> dense int32 ``word_ids`` [batch, time], ``char_ids``
    [batch, time, chars] and ``casing_ids`` [batch, time], padded with 0 to time, chars >= 1."""

    def __init__(self, words: Vocabulary, chars: Vocabulary, lowercase: bool,
                 digits_to_zero: bool, max_word_length: int):
        self.words, self.chars = words, chars
        self.lowercase = lowercase
        self.digits_to_zero = digits_to_zero
        self.max_word_length = max_word_length
        self.word_lookup = VocabularyLookup(words)
        self.char_lookup = VocabularyLookup(chars)
        self.char_tokenizer = CharTokenizer(lowercase=False)

    @property
    def resources(self) -> list:
        """Lookup tables an export must track."""
        return [self.word_lookup.token_to_id, self.word_lookup.id_to_token,
                self.char_lookup.token_to_id, self.char_lookup.id_to_token]

    def __call__(self, tokens: tf.RaggedTensor) -> dict[str, tf.Tensor]:
        word_ids = self.word_lookup.ids(word_forms(tokens, self.lowercase, self.digits_to_zero))
        chars = self.char_tokenizer(tokens.flat_values)[:, : self.max_word_length]
        char_ids = tokens.with_flat_values(self.char_lookup.ids(chars))
        casing = tokens.with_flat_values(casing_ids(tokens.flat_values))
        return {"word_ids": _dense(word_ids), "char_ids": _dense(char_ids),
                "casing_ids": _dense(casing)}


def _dense(ragged: tf.RaggedTensor) -> tf.Tensor:
    """int32, padded with 0, every axis after the batch at least 1 long (empty inputs still run)."""
    dense = tf.cast(ragged.to_tensor(default_value=0), tf.int32)
    shape = tf.shape(dense)
    short = tf.maximum(0, 1 - shape[1:])
    return tf.pad(dense, tf.concat([[[0, 0]], tf.stack([tf.zeros_like(short), short], 1)], 0))
