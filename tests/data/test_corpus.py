"""Corpus reading (streamed, located errors) and the TBPTT stream layout."""

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

from seqtasks.data.corpus import (StreamLayout, build_vocabulary, encode_corpus,
                                  iter_line_chunks, tbptt_dataset)
from seqtasks.errors import ConfigError, DataError
from seqtasks.text import Vocabulary
from seqtasks.text.lines import LineEncoder
from seqtasks.text.tokenizers import CharTokenizer, WhitespaceTokenizer
from seqtasks.text.vocab import BOS_ID, EOS_ID, PAD_ID, UNK_ID

PTB_LIKE = " the cat sat \n the <unk> ran N \n the cat \n"


def test_chunks_keep_every_line_in_order(tmp_path):
    path = tmp_path / "c.txt"
    lines = [f"line {i}\n" for i in range(10)] + ["no newline at the end"]
    path.write_text("".join(lines))
    chunks = list(iter_line_chunks(path, lines_per_chunk=3))
    assert len(chunks) == 4 and "".join(chunks) == "".join(lines)


def test_reader_errors_say_where_and_what(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        list(iter_line_chunks(tmp_path / "missing.txt"))
    (tmp_path / "empty.txt").write_text("")
    with pytest.raises(DataError, match="empty.txt: file is empty"):
        list(iter_line_chunks(tmp_path / "empty.txt"))
    (tmp_path / "bad.txt").write_bytes(b"fine\nstill fine\nbad \xff byte\n")
    with pytest.raises(DataError, match=r"bad.txt:3: bytes are not valid UTF-8 at column 5"):
        list(iter_line_chunks(tmp_path / "bad.txt"))
    (tmp_path / "one.txt").write_text("  \n")  # running text of no words: [BOS] alone
    encoder = LineEncoder(Vocabulary(["x"]), WhitespaceTokenizer(), eos_at_line_end=False)
    with pytest.raises(DataError, match="one.txt: no tokens: every line is blank"):
        encode_corpus(tmp_path / "one.txt", encoder.encode, tmp_path / "one.ids")
    (tmp_path / "x.txt").write_text("x\n")  # one word: [BOS] x, one pair to predict
    assert len(encode_corpus(tmp_path / "x.txt", encoder.encode, tmp_path / "x.ids")) == 2


@pytest.mark.parametrize("eos_at_line_end", [True, False])
@pytest.mark.parametrize("text", ["\n\n\n", "  \r\n\t\r\n", "\r\r\r", " "])
def test_a_corpus_of_blank_lines_is_refused_for_vocabulary_and_ids(tmp_path, text,
                                                                     eos_at_line_end):
    path = tmp_path / "blank.txt"
    path.write_text(text, newline="")
    encoder = LineEncoder(Vocabulary(["x"]), WhitespaceTokenizer(), eos_at_line_end)
    with pytest.raises(DataError, match=r"blank.txt: no tokens: every line is blank \(a language "
                                        r"model needs text to learn from\)$"):
        build_vocabulary(path, encoder.tokens, 1, None)
    with pytest.raises(DataError, match="blank.txt: no tokens: every line is blank"):
        encode_corpus(path, encoder.encode, tmp_path / "blank.ids")
    assert not (tmp_path / "blank.ids").exists()


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r"])
def test_every_line_ending_gives_the_same_ids(tmp_path, ending):
    lines = ["the cat sat", "the dog", "", "ran"]
    reference = tmp_path / "lf.txt"
    reference.write_text("\n".join(lines) + "\n", newline="")
    path = tmp_path / "other.txt"
    path.write_text(ending.join(lines) + ending, newline="")
    encoder = LineEncoder(Vocabulary(["the", "cat", "sat", "dog", "ran"]), WhitespaceTokenizer(),
                          eos_at_line_end=True)
    chunks = list(iter_line_chunks(path, lines_per_chunk=2))
    assert "".join(chunks) == "the cat sat\nthe dog\n\nran\n"
    ids = encode_corpus(path, encoder.encode, tmp_path / "other.ids")
    np.testing.assert_array_equal(ids, encode_corpus(reference, encoder.encode,
                                                     tmp_path / "lf.ids"))
    assert list(ids).count(EOS_ID) == 4


def test_vocabulary_maps_the_data_unk_marker_to_ours_and_ids_end_lines_with_eos(tmp_path):
    path = tmp_path / "ptb.txt"
    path.write_text(PTB_LIKE)
    counting = LineEncoder(Vocabulary([]), WhitespaceTokenizer(False), True, "<unk>")
    vocabulary = build_vocabulary(path, counting.tokens, min_count=2, max_size=None)
    assert vocabulary.tokens == ["[PAD]", "[UNK]", "[BOS]", "[EOS]", "the", "cat"]
    encoder = LineEncoder(vocabulary, WhitespaceTokenizer(False), True, "<unk>")
    ids = encode_corpus(path, encoder.encode, tmp_path / "ptb.ids")
    the, cat = vocabulary.index["the"], vocabulary.index["cat"]
    assert ids.tolist() == [BOS_ID, the, cat, UNK_ID, EOS_ID,
                            BOS_ID, the, UNK_ID, UNK_ID, UNK_ID, EOS_ID,
                            BOS_ID, the, cat, EOS_ID]


def test_running_text_has_one_bos_however_many_chunks(tmp_path):
    path = tmp_path / "long.txt"
    path.write_text("ab\n" * 5000)  # more lines than one chunk holds
    encoder = LineEncoder(Vocabulary(["a", "b", "\n"]), CharTokenizer(), eos_at_line_end=False)
    ids = encode_corpus(path, encoder.encode, tmp_path / "long.ids")
    assert len(ids) == 1 + 15000 and ids[0] == BOS_ID and (ids[1:] != BOS_ID).all()
    assert ids[1:4].tolist() == [4, 5, 6]


def weighted_targets_by_stream(ids, layout, ignored=()):
    """Targets with weight 1, stream by stream, each stream in window order."""
    streams = [[] for _ in range(layout.batch_size)]
    for index in range(layout.n_windows):
        inputs, targets, weights = layout.window(ids, index, ignored)
        assert inputs.shape == targets.shape == weights.shape == (layout.batch_size, layout.steps)
        for b in range(layout.batch_size):
            streams[b] += targets[b][weights[b] == 1].tolist()
    return streams


@settings(max_examples=60, deadline=None)
@given(n_tokens=st.integers(2, 300), batch_size=st.integers(1, 9), steps=st.integers(1, 12),
       overlap=st.integers(0, 11))
def test_every_target_is_weighted_exactly_once_in_stream_order(n_tokens, batch_size, steps,
                                                               overlap):
    stride = max(1, steps - overlap)
    layout = StreamLayout(n_tokens, batch_size, steps, stride)
    ids = np.arange(100, 100 + n_tokens, dtype=np.int32)  # every token distinct
    streams = weighted_targets_by_stream(ids, layout)
    assert sum(streams, []) == ids[1:].tolist()  # nothing lost, duplicated or reordered
    # Streams are contiguous slices of equal length (the last may be shorter).
    assert all(len(s) == layout.stream_length for s in streams[:-1] if streams[-1])


@settings(max_examples=40, deadline=None)
@given(n_tokens=st.integers(2, 200), batch_size=st.integers(1, 6), steps=st.integers(1, 9),
       overlap=st.integers(0, 8))
def test_each_input_precedes_its_target_and_windows_continue_each_stream(n_tokens, batch_size,
                                                                         steps, overlap):
    stride = max(1, steps - overlap)
    layout = StreamLayout(n_tokens, batch_size, steps, stride)
    ids = np.arange(100, 100 + n_tokens, dtype=np.int32)
    previous = None
    for index in range(layout.n_windows):
        inputs, targets, weights = layout.window(ids, index)
        real = inputs != PAD_ID
        assert (targets[real] == inputs[real] + 1).all()  # pairs are consecutive tokens
        assert (weights[~real] == 0).all()
        if previous is not None:  # the window advanced by `stride` positions in every stream
            np.testing.assert_array_equal(inputs[:, : steps - stride], previous[:, stride:])
        previous = inputs


def test_ignored_targets_weigh_zero_and_padding_is_pad():
    ids = np.array([BOS_ID, 7, 8, EOS_ID, BOS_ID, 9, EOS_ID], np.int32)
    layout = StreamLayout(len(ids), batch_size=2, steps=4, stride=4)
    streams = weighted_targets_by_stream(ids, layout, ignored=(BOS_ID,))
    assert sum(streams, []) == [7, 8, EOS_ID, 9, EOS_ID]
    inputs, _, weights = layout.window(ids, 0, (BOS_ID,))
    # 6 (input, target) pairs: 3 per stream; stream 1 starts at the pair (EOS, BOS).
    assert inputs.tolist() == [[BOS_ID, 7, 8, PAD_ID], [EOS_ID, BOS_ID, 9, PAD_ID]]
    assert weights.tolist() == [[1, 1, 1, 0], [0, 1, 1, 0]]


def test_bad_k1_k2_are_config_errors():
    with pytest.raises(ConfigError, match=r"bptt_stride \(k1\) <= bptt_steps \(k2\)"):
        StreamLayout(100, 4, steps=5, stride=6)
    with pytest.raises(ConfigError, match="batch_size"):
        StreamLayout(100, 0, steps=5, stride=5)


def test_dataset_yields_the_windows_in_order_with_known_cardinality():
    ids = np.arange(4, 64, dtype=np.int32)
    layout = StreamLayout(len(ids), batch_size=3, steps=5, stride=3)
    dataset = tbptt_dataset(ids, layout)
    assert int(dataset.cardinality()) == layout.n_windows
    for index, (inputs, targets, weights) in enumerate(dataset):
        expected = layout.window(ids, index)
        for got, want in zip((inputs, targets, weights), expected):
            np.testing.assert_array_equal(got.numpy(), want)
    assert dataset.element_spec[0] == tf.TensorSpec([3, 5], tf.int32)
