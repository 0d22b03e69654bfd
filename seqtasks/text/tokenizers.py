"""In-graph normalisation and tokenization (tensorflow-text): word, character and WordPiece.

The same objects tokenize the training data (through tf.data) and the raw strings that reach an
exported SavedModel, so training and serving can never disagree about what a token is.
Every tokenizer maps a string tensor of shape [batch] to a RaggedTensor [batch, (tokens)].
"""

from __future__ import annotations

from typing import Sequence

import tensorflow as tf
import tensorflow_text as tf_text

from seqtasks.text.vocab import RESERVED, UNK

# Letters, digits and connector punctuation form words; every other visible character is a
# token of its own ("it's" -> it ' s). Spaces, separators and control characters only separate.
# Unicode classes, because RE2's \w and \s are ASCII-only.
WORD_CHAR = r"\p{L}\p{M}\p{N}_"
SPACE = r"\s\p{Z}\p{Cc}"
DELIMITER = rf"[{SPACE}]+|[^{WORD_CHAR}{SPACE}]"
KEPT_DELIMITER = rf"[^{WORD_CHAR}{SPACE}]"
WORDPIECE_SUFFIX = "##"  # marks a WordPiece that continues the word before it
WORD_START = "\u2581"  # marks a word that follows whitespace (WordPiece level)


def sanitize(text: tf.Tensor) -> tf.Tensor:
    """Replace invalid UTF-8 with U+FFFD so later ops never fail on undecodable bytes, and NUL
    with a space (tf-text's regex split stops at NUL). Byte offsets are unchanged by the latter."""
    text = tf.strings.unicode_transcode(
        text, input_encoding="UTF-8", output_encoding="UTF-8", errors="replace"
    )
    return tf.strings.regex_replace(text, r"\x00", " ")


def normalize(tokens, lowercase: bool):
    """NFKC-normalise (and optionally case-fold) a string tensor or the values of a ragged one."""
    if isinstance(tokens, tf.RaggedTensor):
        return tokens.with_flat_values(normalize(tokens.flat_values, lowercase))
    if lowercase:
        return tf_text.case_fold_utf8(tokens)  # case folding includes NFKC
    return tf_text.normalize_utf8(tokens, "NFKC")


# The same classes restricted to ASCII, for the batches that hold nothing else (see
# WordTokenizer.__call__): the spaces are the C0 controls, space and DEL (\p{Cc} and \s).
ASCII_SPACE = r"\x00-\x20\x7f"
ASCII_WORD_CHAR = "A-Za-z0-9_"


def is_ascii(text: tf.Tensor) -> tf.Tensor:
    """A scalar bool: every string of ``text`` is 7-bit ASCII (so valid UTF-8, NFKC-stable)."""
    return tf.reduce_all(tf.strings.regex_full_match(text, r"[\x00-\x7f]*"))


class WordTokenizer:
    """Whitespace and punctuation splitting, then NFKC normalisation and case folding."""

    level = "word"
    # Kept delimiters (punctuation) in ASCII text; None where only whitespace separates.
    ascii_kept = rf"[^{ASCII_WORD_CHAR}{ASCII_SPACE}]"

    def __init__(self, lowercase: bool = True):
        self.lowercase = lowercase

    def split_with_offsets(self, text: tf.Tensor):
        """Raw (unnormalised) tokens with their byte offsets [start, end) into ``text``."""
        return tf_text.regex_split_with_offsets(
            sanitize(text), DELIMITER, KEPT_DELIMITER
        )

    def __call__(self, text: tf.Tensor) -> tf.RaggedTensor:
        # A batch of ASCII text (most served batches) takes a cheaper path that gives the same
        # tokens (the graph's part before the model took about a third of the time at batch
        # 256: bench/results/serving-vs-pytorch.json): ASCII is valid UTF-8 without NFKC
        # changes, and its case folding is lowercasing, so one regex rewrite spaces the kept
        # delimiters out and a plain whitespace split (no offsets, no per-token
        # normalisation) does the rest.
        return tf.cond(is_ascii(text), lambda: self._ascii_tokens(text),
                       lambda: self._unicode_tokens(text))

    def _ascii_tokens(self, text: tf.Tensor) -> tf.RaggedTensor:
        if self.lowercase:
            text = tf.strings.lower(text)
        if self.ascii_kept is None:
            text = tf.strings.regex_replace(text, f"[{ASCII_SPACE}]", " ")
        else:
            text = tf.strings.regex_replace(text, f"({self.ascii_kept})|[{ASCII_SPACE}]",
                                            r" \1 ")
        return tf.strings.split(text)

    def _unicode_tokens(self, text: tf.Tensor) -> tf.RaggedTensor:
        tokens, _, _ = self.split_with_offsets(text)
        tokens = normalize(tokens, self.lowercase)
        # NFKC can expand a symbol into space + mark ("´" -> " ́"); a word token has no spaces.
        return tokens.with_flat_values(
            tf.strings.regex_replace(tokens.flat_values, f"[{SPACE}]", ""))

    def join(self, tokens: tf.RaggedTensor) -> tf.Tensor:
        return tf.strings.reduce_join(tokens, axis=-1, separator=" ")


class WhitespaceTokenizer(WordTokenizer):
    """Whitespace splitting only, for corpora that come tokenized (PTB, WikiText): ``<unk>`` and
    ``mr.`` stay one token each. Then NFKC normalisation and case folding, like WordTokenizer."""

    ascii_kept = None

    def split_with_offsets(self, text: tf.Tensor):
        return tf_text.regex_split_with_offsets(sanitize(text), f"[{SPACE}]+")


class CharTokenizer:
    """Unicode code points after normalisation; spaces and newlines are tokens too."""

    level = "char"

    def __init__(self, lowercase: bool = False):
        self.lowercase = lowercase

    def __call__(self, text: tf.Tensor) -> tf.RaggedTensor:
        text = normalize(sanitize(text), self.lowercase)
        return tf.strings.unicode_split(text, "UTF-8", errors="replace")

    def join(self, tokens: tf.RaggedTensor) -> tf.Tensor:
        return tf.strings.reduce_join(tokens, axis=-1)


class WordPieceTokenizer:
    """Words and punctuation (split as by WordTokenizer) cut into the WordPiece subwords of a
    vocabulary (tf-text's FastWordpieceTokenizer): a word's first piece as is, the others
    prefixed with ``##``. A word that follows whitespace is marked with a leading ``▁`` (as in
    SentencePiece) and punctuation glued to a word is not ("bushes." -> ▁bush ##es .), so ``join``
    restores the text exactly, up to normalisation and runs of whitespace. A word that cannot be
    cut into known pieces becomes one [UNK]; U+2581 (▁) in the input reads as a space."""

    level = "wordpiece"

    def __init__(self, vocabulary: Sequence[str], lowercase: bool = False):
        self.lowercase = lowercase
        self.splitter = WordTokenizer(lowercase)
        self.pieces = tf_text.FastWordpieceTokenizer(
            list(vocabulary), suffix_indicator=WORDPIECE_SUFFIX, max_bytes_per_word=100,
            token_out_type=tf.string, unknown_token=UNK, no_pretokenization=True)

    def words(self, text: tf.Tensor) -> tf.RaggedTensor:
        """[batch] -> [batch, (words)]: normalised words, ``▁`` before those after a space."""
        text = tf.strings.regex_replace(text, WORD_START, " ")
        tokens = self.splitter(text)
        _, starts, ends = self.splitter.split_with_offsets(text)
        previous_end = tf.concat([[-1], ends.flat_values[:-1]], axis=0)
        first_in_row = tf.equal(tf.range(tf.shape(starts.flat_values, out_type=tf.int64)[0]),
                                tf.gather(starts.row_starts(), starts.value_rowids()))
        glued = tf.logical_and(tf.equal(starts.flat_values, previous_end),
                               tf.logical_not(first_in_row))
        flat = tokens.flat_values
        return tokens.with_flat_values(tf.where(glued, flat, WORD_START + flat))

    def __call__(self, text: tf.Tensor) -> tf.RaggedTensor:
        words = self.words(text)
        return words.with_flat_values(self.pieces.tokenize(words.flat_values)).merge_dims(1, 2)

    def join(self, tokens: tf.RaggedTensor) -> tf.Tensor:
        text = tf.strings.reduce_join(tokens, axis=-1, separator=" ")
        text = tf.strings.regex_replace(text, f" ?{WORDPIECE_SUFFIX}| ", "")
        return tf.strings.strip(tf.strings.regex_replace(text, WORD_START, " "))


TOKENIZERS = {"word": WordTokenizer, "char": CharTokenizer, "wordpiece": WordPieceTokenizer}


def make_tokenizer(level: str, lowercase: bool, vocabulary: Sequence[str] = RESERVED):
    """The tokenizer of a level; ``wordpiece`` splits into the pieces of ``vocabulary``."""
    if level not in TOKENIZERS:
        raise ValueError(f"Unknown level '{level}'. Expected one of: {', '.join(TOKENIZERS)}")
    if level == "wordpiece":
        return WordPieceTokenizer(vocabulary, lowercase=lowercase)
    return TOKENIZERS[level](lowercase=lowercase)


def tokenize_to_python(tokenizer, texts: list[str]) -> list[list[str]]:
    """Run the in-graph tokenizer eagerly over Python strings (used to build vocabularies)."""
    out: list[list[str]] = []
    for start in range(0, len(texts), 4096):
        ragged = tokenizer(tf.constant(texts[start : start + 4096], dtype=tf.string))
        out.extend([t.decode("utf-8") for t in row] for row in ragged.to_list())
    return out
