import unicodedata

import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

from seqtasks.text.tokenizers import (CharTokenizer, WhitespaceTokenizer, WordTokenizer, is_ascii,
                                     tokenize_to_python)


def test_word_tokenizer_splits_punctuation_and_folds_case():
    tokens = tokenize_to_python(WordTokenizer(lowercase=True), ["It's GREAT, isn't it?", ""])
    assert tokens == [["it", "'", "s", "great", ",", "isn", "'", "t", "it", "?"], []]


def test_word_tokenizer_handles_unicode_letters_and_nfkc():
    tokens = tokenize_to_python(WordTokenizer(lowercase=False), ["Café ﬁlm — Ærø  naïve"])
    # NFKC turns the ligature into "fi"; accented letters stay inside words; the dash is a token.
    assert tokens == [["Café", "film", "—", "Ærø", "naïve"]]


def test_word_offsets_point_into_the_raw_text():
    text = "U.N. official Ekeus"
    tokens, starts, ends = WordTokenizer().split_with_offsets(tf.constant([text]))
    pieces = [text.encode()[s:e].decode() for s, e in zip(starts[0].numpy(), ends[0].numpy())]
    assert pieces == [t.decode() for t in tokens[0].numpy()] == [
        "U", ".", "N", ".", "official", "Ekeus"]


def test_invalid_utf8_does_not_fail():
    tokens = WordTokenizer()(tf.constant([b"bad \xff bytes"]))
    assert tokens.to_list()[0][0] == b"bad"


def test_char_tokenizer_keeps_spaces_and_newlines():
    assert tokenize_to_python(CharTokenizer(), ["a b\nç"]) == [["a", " ", "b", "\n", "ç"]]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(max_size=40), min_size=1, max_size=5))
def test_char_tokens_rejoin_to_the_normalised_text(texts):
    tokenizer = CharTokenizer(lowercase=False)
    rejoined = tokenizer.join(tokenizer(tf.constant(texts))).numpy()
    normalised = [unicodedata.normalize("NFKC", t.replace("\x00", " ")) for t in texts]
    assert [r.decode() for r in rejoined] == normalised


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(max_size=40), min_size=1, max_size=5))
def test_word_tokens_never_contain_whitespace_and_cover_all_non_space(texts):
    tokens = tokenize_to_python(WordTokenizer(lowercase=False), texts)
    for text, row in zip(texts, tokens):
        assert all(token and not any(ch.isspace() for ch in token) for token in row)
        raw, _, _ = WordTokenizer(lowercase=False).split_with_offsets(tf.constant([text]))
        joined = "".join(t.decode() for t in raw[0].numpy())
        assert joined == "".join(ch for ch in text if not ch.isspace() and
                                 unicodedata.category(ch) not in ("Zs", "Zl", "Zp", "Cc"))


ASCII_TEXT = st.lists(st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=60),
                      min_size=1, max_size=6)


@settings(max_examples=150, deadline=None)
@given(ASCII_TEXT, st.booleans(), st.sampled_from([WordTokenizer, WhitespaceTokenizer]))
def test_ascii_batches_take_a_fast_path_with_the_same_tokens(texts, lowercase, kind):
    # Every ASCII character class (controls, NUL, DEL, punctuation, digits, both cases).
    tokenizer = kind(lowercase=lowercase)
    text = tf.constant(texts)
    assert bool(is_ascii(text))
    fast, general = tokenizer._ascii_tokens(text), tokenizer._unicode_tokens(text)
    assert fast.to_list() == general.to_list()
    assert tokenizer(text).to_list() == general.to_list()


def test_one_non_ascii_string_sends_the_batch_the_general_way():
    texts = tf.constant(["It's ok", "Café ﬁlm"])
    assert not bool(is_ascii(texts))
    assert not bool(is_ascii(tf.constant([b"bad \xff bytes"])))
    assert tokenize_to_python(WordTokenizer(lowercase=True), texts) == [
        ["it", "'", "s", "ok"], ["café", "film"]]
