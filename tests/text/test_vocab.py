import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

from seqtasks.errors import DataError
from seqtasks.text.encoder import TextEncoder
from seqtasks.text.vocab import BOS, EOS, PAD, RESERVED, UNK, UNK_ID, Vocabulary, VocabularyLookup


def test_reserved_tokens_come_first_and_counts_order_the_rest():
    vocab = Vocabulary.build([["b", "a", "b", "c"], ["b", "a"]], min_count=1)
    assert vocab.tokens == [PAD, UNK, BOS, EOS, "b", "a", "c"]


def test_min_count_and_max_size():
    sequences = [["a"] * 5 + ["b"] * 3 + ["c"] * 2 + ["d"]]
    assert Vocabulary.build(sequences, min_count=2).tokens[4:] == ["a", "b", "c"]
    assert Vocabulary.build(sequences, max_size=6).tokens[4:] == ["a", "b"]


def test_unknown_tokens_map_to_unk():
    vocab = Vocabulary.build([["x"]])
    assert vocab.encode(["x", "never"]) == [4, UNK_ID]
    assert vocab.decode([4, UNK_ID, 999]) == ["x", UNK, UNK]


def test_in_graph_lookup_matches_python():
    vocab = Vocabulary.build([["good", "film", "good"]])
    lookup = VocabularyLookup(vocab)
    ids = lookup.ids(tf.ragged.constant([["good", "bad"], ["film"]]))
    assert ids.to_list() == [vocab.encode(["good", "bad"]), vocab.encode(["film"])]
    assert [t.decode() for t in lookup.tokens(tf.constant([4, 5, 1])).numpy()] == [
        "good", "film", UNK]


def test_encoder_truncates_and_pads_to_at_least_one_step():
    vocab = Vocabulary.build([["a", "b", "c"]])
    encoder = TextEncoder(vocab, "word", True, max_length=2)
    assert encoder(tf.constant(["a b c a", ""])).to_list() == [vocab.encode(["a", "b"]), []]
    assert encoder.dense(tf.constant(["", ""])).shape == (2, 1)


def test_load_rejects_foreign_files(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("hello\nworld\n")
    with pytest.raises(DataError, match="vocab.txt:1: not a seqtasks vocabulary"):
        Vocabulary.load(path)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=5), min_size=0, max_size=30, unique=True))
def test_save_load_round_trip_with_any_characters(tmp_path_factory, tokens):
    tokens = [t for t in tokens if t not in RESERVED]
    vocab = Vocabulary(list(RESERVED) + tokens)
    path = tmp_path_factory.mktemp("v") / "vocab.txt"
    vocab.save(path)
    assert Vocabulary.load(path).tokens == vocab.tokens
