"""Vocabularies learned from training text: counted tokens (word, char) or WordPiece subwords.

WordPiece vocabularies come from tensorflow-text's learner (the one behind its
``bert_vocab_from_dataset``), fed with our own counts of the words ``WordPieceTokenizer`` cuts
into pieces (``▁`` marks the words that follow whitespace, which makes detokenizing exact). The learner keeps every subword seen at least ``t`` times; we search the smallest ``t``
whose vocabulary fits the requested size (a few learner runs, seconds on Multi30k).
"""

from __future__ import annotations

import collections
from typing import Sequence

from seqtasks.text.tokenizers import WordPieceTokenizer, make_tokenizer, tokenize_to_python
from seqtasks.text.vocab import RESERVED, Vocabulary


def learn_vocabulary(texts: Sequence[str], level: str, lowercase: bool, max_size: int,
                     min_count: int = 1) -> Vocabulary:
    """The vocabulary of ``texts`` at ``level`` (word | char | wordpiece), at most ``max_size``
    tokens including the reserved ones. ``min_count`` applies to word and char levels."""
    if level == "wordpiece":
        return learn_wordpiece_vocabulary(texts, max_size, lowercase)
    tokens = tokenize_to_python(make_tokenizer(level, lowercase), list(texts))
    return Vocabulary.build(tokens, min_count, max_size)


def learn_wordpiece_vocabulary(texts: Sequence[str], size: int, lowercase: bool) -> Vocabulary:
    """WordPiece subwords of ``texts``: at most ``size`` tokens, reserved ones first, then every
    character (alone and as ``##`` suffix), then subwords by frequency."""
    from tensorflow_text.tools.wordpiece_vocab import wordpiece_tokenizer_learner_lib as learner

    words = tokenize_to_python(WordPieceTokenizer(RESERVED, lowercase).words, list(texts))
    counts = collections.Counter(word for sentence in words for word in sentence)
    if not counts:
        return Vocabulary(RESERVED)

    def learn(threshold: int) -> list[str]:
        return learner.learn(counts, size, list(RESERVED), upper_thresh=threshold,
                             lower_thresh=threshold)

    # The vocabulary shrinks as the threshold grows: double it until the vocabulary fits, then
    # bisect between the last threshold that was too small and the first that fits.
    too_small, threshold = 0, 1
    tokens = learn(threshold)
    while len(tokens) > size and threshold <= max(counts.values()):
        too_small, threshold = threshold, threshold * 2
        tokens = learn(threshold)
    while threshold - too_small > 1:
        middle = (too_small + threshold) // 2
        candidate = learn(middle)
        if len(candidate) <= size:
            threshold, tokens = middle, candidate
        else:
            too_small = middle
    return Vocabulary(tokens[:size])  # only an alphabet larger than ``size`` is cut here
