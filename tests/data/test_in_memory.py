"""In-memory training data written as the task's files: read back by the task's own readers,
every bad item named, the same data always in the same file."""

from __future__ import annotations

import pandas as pd
import pytest

from seqtasks.data import in_memory
from seqtasks.data.conll import read_conll
from seqtasks.data.corpus import iter_line_chunks
from seqtasks.data.labelled import read_labelled
from seqtasks.data.parallel import read_monolingual, read_parallel
from seqtasks.errors import DataError

PAIRS = [("a tab\there, \"quoted\"", "pos"), ("two\nlines", 1), (None, "neg")]


def test_labelled_pairs_and_frames_read_back_exactly(tmp_path):
    path = in_memory.labelled_table(PAIRS, tmp_path, "train")
    data = read_labelled(path)
    assert data.texts == ["a tab\there, \"quoted\"", "two\nlines", ""]
    assert data.labels == ["pos", "1", "neg"]
    frame = pd.DataFrame({"review": ["good", "bad"], "stars": ["5", "1"], "other": [1, 2]})
    data = read_labelled(in_memory.labelled_table(frame, tmp_path, "valid", "review", "stars"),
                         "review", "stars")
    assert (data.texts, data.labels) == (["good", "bad"], ["5", "1"])


def test_the_same_data_lands_in_the_same_file_and_other_data_elsewhere(tmp_path):
    first = in_memory.labelled_table(PAIRS, tmp_path, "train")
    assert in_memory.labelled_table(list(PAIRS), tmp_path, "train") == first
    assert in_memory.labelled_table(PAIRS[:2], tmp_path, "train") != first
    assert first.name.startswith("train-") and len(list(tmp_path.iterdir())) == 2


def test_tagged_sentences_read_back_in_the_configured_columns(tmp_path):
    sentences = [(["Marie", "Curie", "lived"], ["B-PER", "I-PER", "O"]), (("Paris",), ("B-LOC",))]
    for token_column, tag_column in ((0, -1), (2, 0), (1, -2)):
        path = in_memory.tagged_sentences(sentences, tmp_path, "train", token_column, tag_column)
        data = read_conll(path, token_column, tag_column)
        assert data.tokens == [["Marie", "Curie", "lived"], ["Paris"]]
        assert data.tags == [["B-PER", "I-PER", "O"], ["B-LOC"]]


def test_lines_and_pairs_read_back(tmp_path):
    texts = ["the cat sat", "on the mat"]
    assert read_monolingual(in_memory.text_lines(texts, tmp_path, "train")).sources == texts
    corpus = in_memory.text_lines(["one\ntwo", "three"], tmp_path, "lm", one_line=False)
    assert "".join(iter_line_chunks(corpus)) == "one\ntwo\nthree\n"
    pairs = [("ein Haus", "a house"), ("", "")]
    data = read_parallel(in_memory.sentence_pairs(pairs, tmp_path, "train"))
    assert list(zip(data.sources, data.targets)) == [("ein Haus", "a house")]
    assert data.skipped["blank"] == 1


@pytest.mark.parametrize("write, examples, message", [
    (in_memory.labelled_table, "train.tsv is not a list", "got str"),
    (in_memory.labelled_table, [], "no examples"),
    (in_memory.labelled_table, [("ok", "pos"), ("no label",)], "item 1 is a tuple of 1"),
    (in_memory.labelled_table, [("ok", "pos"), "text"], "item 1 is a str"),
    (in_memory.labelled_table, [(3, "pos")], "item 0: the text is a int"),
    (in_memory.labelled_table, [("ok", None)], "item 0: the label is a NoneType"),
    (in_memory.labelled_table, pd.DataFrame({"review": ["x"]}), "missing column 'text'"),
    (in_memory.tagged_sentences, [(["a", "b"], ["O"])], "sentence 0 has 2 tokens but 1 tags"),
    (in_memory.tagged_sentences, [(["New York"], ["B-LOC"])], "tokens[0] is 'New York'"),
    (in_memory.tagged_sentences, [("a b", "O O")], "tokens is a str"),
    (in_memory.tagged_sentences, [([], [])], "sentence 0 has no tokens"),
    (in_memory.text_lines, ["fine", "two\rlines"], "item 1: the text holds a line break"),
    (in_memory.text_lines, ["fine", b"bytes"], "item 1: the text is a bytes"),
    (in_memory.sentence_pairs, [("a\tb", "c")], "item 0: the source holds a tab"),
    (in_memory.sentence_pairs, [("a", "b\u2028c")], "item 0: the target holds a line break"),
])
def test_a_bad_item_is_named_in_one_line_and_nothing_is_written(tmp_path, write, examples,
                                                                message):
    with pytest.raises(DataError) as raised:
        write(examples, tmp_path / "data", "train")
    assert message in str(raised.value) and "\n" not in str(raised.value)
    assert not (tmp_path / "data").exists() or not any((tmp_path / "data").iterdir())
