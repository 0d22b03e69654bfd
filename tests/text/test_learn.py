"""Vocabulary learning and the WordPiece tokenizer it feeds (exact detokenization)."""

import string

import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import DATA
from seqtasks.data.parallel import read_parallel
from seqtasks.text.encoder import TextEncoder
from seqtasks.text.learn import learn_vocabulary
from seqtasks.text.tokenizers import WordPieceTokenizer
from seqtasks.text.vocab import RESERVED, UNK

ENGLISH = read_parallel(DATA / "translation" / "train.tsv").targets
ALPHABET = string.ascii_letters + string.digits + ".,;:!?'\"()-"


@pytest.fixture(scope="module")
def english_vocab():
    # Every character as a word of its own (the learner ignores words over 50 characters).
    alphabet = " ".join(ALPHABET)
    return learn_vocabulary(ENGLISH + [alphabet], "wordpiece", lowercase=False, max_size=300)


def roundtrip(vocabulary, texts, lowercase=False):
    encoder = TextEncoder(vocabulary, "wordpiece", lowercase, max_length=1000)
    return [t.decode("utf-8") for t in encoder.decode(encoder(tf.constant(texts))).numpy()]


def test_wordpiece_vocabulary_respects_the_size_and_keeps_reserved_tokens_first(english_vocab):
    assert len(english_vocab) <= 300
    assert english_vocab.tokens[:4] == list(RESERVED)
    assert "▁the" in english_vocab and "." in english_vocab  # glued "." has no word marker
    small = learn_vocabulary(ENGLISH, "wordpiece", lowercase=False, max_size=150)
    every = learn_vocabulary(ENGLISH, "wordpiece", lowercase=False, max_size=2000)
    assert len(small) <= 150 < len(every) < 2000  # the sample has fewer distinct subwords
    assert learn_vocabulary(ENGLISH, "wordpiece", False, 150).tokens == small.tokens


def test_word_level_vocabulary_counts_tokens():
    vocabulary = learn_vocabulary(["a b b", "b c"], "word", lowercase=True, max_size=10)
    assert vocabulary.tokens == [*RESERVED, "b", "a", "c"]


def test_detokenizing_restores_the_text(english_vocab):
    texts = ["The man reads a book.", "  Where is the station?  ", "It's (really) late!",
             "I  am\tfine.", ""]
    assert roundtrip(english_vocab, texts) == [" ".join(t.split()) for t in texts]


def test_unknown_characters_become_unk_and_case_folding_applies(english_vocab):
    tokens = WordPieceTokenizer(english_vocab.tokens)(tf.constant(["A ☃ dog."])).to_list()[0]
    assert UNK.encode() in tokens
    lower = learn_vocabulary(ENGLISH, "wordpiece", lowercase=True, max_size=300)
    assert roundtrip(lower, ["The DOG sleeps."], lowercase=True) == ["the dog sleeps."]


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=ALPHABET + " \t\n", max_size=60))
def test_any_text_over_the_learned_alphabet_round_trips(english_vocab, text):
    assert roundtrip(english_vocab, [text]) == [" ".join(text.split())]
