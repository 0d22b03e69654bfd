"""Text <-> token ids for language models: lines, [BOS] / [EOS], the data's unknown-word marker.

With ``eos_at_line_end`` each line of a text becomes ``[BOS] tokens [EOS]``: the model learns
where lines start and end, generation starts from [BOS] and stops at [EOS]. Without it a text is
running text: one ``[BOS]``, then its tokens; a character model keeps "\n" as a character. The
corpus reader (training data) and the exported ``score`` / ``generate`` signatures use this one
class, so what is trained is what is served.
"""

from __future__ import annotations

import tensorflow as tf

from seqtasks.text.vocab import BOS_ID, EOS_ID, PAD_ID, UNK, Vocabulary, VocabularyLookup


def reverse_rows(rows: tf.RaggedTensor) -> tf.RaggedTensor:
    """Each row of ``rows`` [N, (k), ...] in reverse order (the rows stay where they are)."""
    n_values = tf.shape(rows.flat_values)[0] if rows.ragged_rank == 1 else rows.values.nrows()
    everything = tf.RaggedTensor.from_row_lengths(  # last row first, each row reversed
        tf.gather(rows.values, tf.range(n_values - 1, -1, -1)), tf.reverse(rows.row_lengths(), [0]))
    return tf.gather(everything, tf.range(rows.nrows() - 1, -1, -1))


class LineEncoder:
    """``tokenizer`` splits one string into tokens (word or character level); tokens equal to
    ``unknown_word`` (PTB's ``<unk>``) become our ``[UNK]``. With ``backward`` every line is read
    right to left (a backward language model: ``[BOS] last ... first [EOS]``); ``detokenize``
    turns its output back into reading order."""

    def __init__(self, vocabulary: Vocabulary, tokenizer, eos_at_line_end: bool,
                 unknown_word: str | None = None, backward: bool = False):
        if backward and not eos_at_line_end:
            raise ValueError("a backward encoder reads lines: it needs eos_at_line_end")
        self.vocabulary = vocabulary
        self.tokenizer = tokenizer
        self.eos_at_line_end = eos_at_line_end
        self.unknown_word = unknown_word
        self.backward = backward
        self.lookup = VocabularyLookup(vocabulary)

    @property
    def resources(self) -> list:
        """Lookup tables an export must track."""
        return [self.lookup.token_to_id, self.lookup.id_to_token]

    def _tokenize(self, texts: tf.Tensor) -> tf.RaggedTensor:
        tokens = self.tokenizer(texts)
        if not self.unknown_word:
            return tokens
        flat = tokens.flat_values
        return tokens.with_flat_values(tf.where(tf.equal(flat, self.unknown_word), UNK, flat))

    def _line_tokens(self, texts: tf.Tensor) -> tf.RaggedTensor:
        """[N] texts -> [N, (lines), (tokens)]; a final newline does not start another line.
        CRLF and lone CR end lines as LF does (as ``seqtasks.io.iter_text_lines`` reads files)."""
        texts = tf.strings.regex_replace(texts, "\r\n?", "\n")
        lines = tf.strings.split(tf.strings.regex_replace(texts, "\n\\z", ""), "\n")
        tokens = self._tokenize(lines.values)
        return lines.with_values(reverse_rows(tokens) if self.backward else tokens)

    def tokens(self, texts: tf.Tensor) -> tf.RaggedTensor:
        """[N] texts -> [N, (tokens)] token strings, without [BOS]/[EOS] (what a vocabulary
        counts)."""
        if self.eos_at_line_end:
            return self._line_tokens(texts).merge_dims(1, 2)
        return self._tokenize(tf.strings.regex_replace(texts, "\r\n?", "\n"))

    def encode(self, texts: tf.Tensor, start_with_bos: bool = True) -> tf.RaggedTensor:
        """[N] texts -> [N, (ids)] int32. Running text starts with [BOS] unless
        ``start_with_bos`` is False (a corpus read in chunks has one start)."""
        if self.eos_at_line_end:
            lines = self.lookup.ids(self._line_tokens(texts))
            per_line = tf.cast(lines.values, tf.int32)
            edge = tf.ones([per_line.nrows(), 1], tf.int32)
            per_line = tf.concat([edge * BOS_ID, per_line, edge * EOS_ID], axis=1)
            return lines.with_values(per_line).merge_dims(1, 2)
        ids = tf.cast(self.lookup.ids(self.tokens(texts)), tf.int32)
        if not start_with_bos:
            return ids
        return tf.concat([tf.fill([ids.nrows(), 1], BOS_ID), ids], axis=1)

    def prompt_ids(self, texts: tf.Tensor) -> tf.RaggedTensor:
        """Ids that a continuation of ``texts`` follows: the last line stays open (no [EOS])."""
        ids = self.encode(texts)
        return ids[:, :-1] if self.eos_at_line_end else ids

    def detokenize(self, ids: tf.RaggedTensor) -> tf.Tensor:
        """[N, (ids)] -> [N] strings: [BOS] and [PAD] dropped, [EOS] becomes a newline."""
        ids = tf.cast(ids, tf.int64)
        if self.backward:
            ids = reverse_rows(ids)
        ids = tf.ragged.boolean_mask(ids, tf.logical_and(tf.not_equal(ids, BOS_ID),
                                                         tf.not_equal(ids, PAD_ID)))
        tokens = tf.ragged.map_flat_values(
            lambda flat: tf.where(tf.equal(flat, EOS_ID), "\n", self.lookup.tokens(flat)), ids)
        text = self.tokenizer.join(tokens)
        if self.tokenizer.level == "word":  # words are joined by spaces, lines by newlines
            text = tf.strings.regex_replace(text, " ?\n ?", "\n")
        return text
