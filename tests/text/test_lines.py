"""LineEncoder: [BOS]/[EOS] per line or running text, the data's UNK marker, and back."""

import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

from seqtasks.text import Vocabulary
from seqtasks.text.lines import LineEncoder
from seqtasks.text.tokenizers import CharTokenizer, WhitespaceTokenizer, WordTokenizer
from seqtasks.text.vocab import BOS_ID, EOS_ID, UNK_ID

WORDS = Vocabulary(["the", "cat", "sat", "mr."])
THE, CAT, SAT, MR = 4, 5, 6, 7


def ids(encoder, texts, **kwargs):
    return encoder.encode(tf.constant(texts), **kwargs).to_list()


def test_each_line_is_bos_tokens_eos_and_unk_markers_become_unk():
    encoder = LineEncoder(WORDS, WhitespaceTokenizer(False), True, "<unk>")
    assert ids(encoder, ["the cat <unk>\nmr. sat\n", "", "dog\r\n\n"]) == [
        [BOS_ID, THE, CAT, UNK_ID, EOS_ID, BOS_ID, MR, SAT, EOS_ID],
        [BOS_ID, EOS_ID],                               # an empty text is one empty line
        [BOS_ID, UNK_ID, EOS_ID, BOS_ID, EOS_ID]]       # CRLF; a blank line is a line
    assert encoder.tokens(tf.constant(["the <unk>\ncat"])).to_list() == [
        [b"the", b"[UNK]", b"cat"]]


def test_whitespace_splitting_keeps_tokenized_words_punctuation_splitting_does_not():
    assert WhitespaceTokenizer(False)(tf.constant(["mr. <unk> ok"])).to_list() == [
        [b"mr.", b"<unk>", b"ok"]]
    assert WordTokenizer(False)(tf.constant(["mr. <unk>"])).to_list() == [
        [b"mr", b".", b"<", b"unk", b">"]]


def test_running_text_has_one_bos_and_characters_keep_newlines():
    chars = Vocabulary(["a", "b", "\n"])
    encoder = LineEncoder(chars, CharTokenizer(), eos_at_line_end=False)
    a, b, newline = (chars.index[c] for c in "ab\n")
    assert ids(encoder, ["ab\nb\n"]) == [[BOS_ID, a, b, newline, b, newline]]
    assert ids(encoder, ["ab"], start_with_bos=False) == [[a, b]]


def test_prompts_leave_the_last_line_open():
    encoder = LineEncoder(WORDS, WhitespaceTokenizer(False), True)
    assert encoder.prompt_ids(tf.constant(["the\ncat", ""])).to_list() == [
        [BOS_ID, THE, EOS_ID, BOS_ID, CAT], [BOS_ID]]


def test_detokenize_drops_bos_and_turns_eos_into_newlines():
    words = LineEncoder(WORDS, WhitespaceTokenizer(False), True)
    assert words.detokenize(tf.ragged.constant([[BOS_ID, THE, CAT, EOS_ID, BOS_ID, SAT],
                                                [UNK_ID]])).numpy().tolist() == [
        b"the cat\nsat", b"[UNK]"]


@settings(max_examples=40, deadline=None)
@given(st.text(alphabet="ab \n", max_size=30))
def test_character_text_round_trips_through_ids(text):
    chars = Vocabulary(["a", "b", " ", "\n"])
    for eos in (True, False):
        encoder = LineEncoder(chars, CharTokenizer(), eos)
        decoded = encoder.detokenize(encoder.encode(tf.constant([text])))[0].numpy().decode()
        # Lines come back each ended by a newline; running text comes back as it was.
        assert decoded == (text.removesuffix("\n") + "\n" if eos else text)
