"""Corrupted CoNLL files, parallel-text TSVs, caption files (TSV and Flickr8k) and plain-text
corpora: each reader returns exactly what was written, or stops with a one-line error that names
the corrupted line (the TSV/CSV tables have their own harness, tests/data/test_table_fuzz.py).
``-m slow`` runs many more cases."""

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import write_lines
from seqtasks.data.captions import read_captions
from seqtasks.data.conll import read_conll
from seqtasks.data.corpus import iter_line_chunks
from seqtasks.data.parallel import read_parallel
from seqtasks.errors import DataError

WORDS = st.text(st.characters(whitelist_categories=("Lu", "Ll", "Nd"), max_codepoint=0x24F),
                min_size=1, max_size=8)
TAGS = st.sampled_from(["O", "B-PER", "B-LOC"])  # valid IOB2 in any order: nothing to repair
SENTENCES = st.lists(st.lists(st.tuples(WORDS, TAGS), min_size=1, max_size=6), min_size=1,
                     max_size=6)
FAST_CASES = 150
SLOW_CASES = int(os.environ.get("SEQTASKS_FUZZ_CASES", "10000"))
CONLL_CORRUPTIONS = ("none", "missing_tag", "extra_column", "bad_bytes", "truncated")
TSV_CORRUPTIONS = ("none", "missing_tab", "bad_bytes", "one_side_empty", "truncated")


def conll_lines(sentences) -> tuple[list[str], list[int]]:
    """The file's lines and the line number of every token line."""
    lines, token_lines = [], []
    for sentence in sentences:
        for word, tag in sentence:
            lines.append(f"{word} {tag}")
            token_lines.append(len(lines))
        lines.append("")
    return lines, token_lines


def check_conll(tmp_path, sentences, kind, pick):
    lines, token_lines = conll_lines(sentences)
    line = token_lines[pick % len(token_lines)]
    path = tmp_path / "case.txt"
    if kind == "missing_tag":
        lines[line - 1] = lines[line - 1].split()[0]
    elif kind == "extra_column":
        lines[line - 1] += " extra"
    elif kind == "truncated":
        lines = lines[:line]
    write_lines(path, lines, line if kind == "bad_bytes" else None)
    if kind in ("none", "truncated"):
        expected = [[tuple(l.split()) for l in block.splitlines()]
                    for block in "\n".join(lines).split("\n\n") if block.strip()]
        data = read_conll(path, file_scheme="iob2")
        assert [list(zip(t, g)) for t, g in zip(data.tokens, data.tags)] == expected
        return
    with pytest.raises(DataError) as error:
        read_conll(path, file_scheme="iob2")
    message = str(error.value)
    # the corrupted line, or (a first token line that set the column count) the line named
    # in "expected N as on line L"
    assert message.startswith(f"{path}:{line}: ") or f"as on line {line}" in message, message
    assert "\n" not in message


def read_or_fail_at(read, path, index: int | None):
    """``read(path)``; when ``index`` is given, the one-line DataError at line ``index + 1``."""
    if index is None:
        return read(path)
    with pytest.raises(DataError) as error:
        read(path)
    assert str(error.value).startswith(f"{path}:{index + 1}: "), str(error.value)
    assert "\n" not in str(error.value)
    return None


def check_tsv(tmp_path, pairs, kind, pick):
    lines = [f"{source}\t{target}" for source, target in pairs]
    index = pick % len(lines)
    if kind == "missing_tab":
        lines[index] = lines[index].replace("\t", " ")
    elif kind == "one_side_empty":
        lines[index] = lines[index].split("\t")[0] + "\t"
    elif kind == "truncated":
        lines = lines[: index + 1]
    path = tmp_path / "pairs.tsv"
    write_lines(path, lines, index + 1 if kind == "bad_bytes" else None)
    data = read_or_fail_at(read_parallel, path, None if kind in ("none", "truncated") else index)
    if data is not None:
        assert list(zip(data.sources, data.targets)) == [tuple(l.split("\t")) for l in lines]
        assert data.lines == list(range(1, len(lines) + 1))


SENTENCE_TEXT = st.lists(WORDS, min_size=1, max_size=6).map(" ".join)
PAIRS = st.lists(st.tuples(SENTENCE_TEXT, SENTENCE_TEXT), min_size=1, max_size=10)


@pytest.mark.parametrize("kind", CONLL_CORRUPTIONS)
@pytest.mark.parametrize("pick", [0, 2, 5])
def test_every_conll_corruption(tmp_path, kind, pick):
    sentences = [[("EU", "B-LOC"), ("rejects", "O")], [("Peter", "B-PER"), ("Blackburn", "I-PER")],
                 [("BRUSSELS", "B-LOC")]]
    check_conll(tmp_path, sentences, kind, pick)


@pytest.mark.parametrize("kind", TSV_CORRUPTIONS)
@pytest.mark.parametrize("pick", [0, 1, 3])
def test_every_parallel_tsv_corruption(tmp_path, kind, pick):
    pairs = [("Ein Mann", "A man"), ("Zwei Hunde", "Two dogs"), ("Hallo", "Hello"),
             ("Gut", "Good")]
    check_tsv(tmp_path, pairs, kind, pick)


CAPTION_CORRUPTIONS = ("none", "missing_tab", "extra_tab", "empty_caption", "bad_bytes",
                       "missing_image", "truncated")


def check_captions(tmp_path, captions, kind, pick, flickr=False):
    from PIL import Image

    Image.new("RGB", (8, 8), (200, 10, 10)).save(tmp_path / "red.png")
    lines = [f"red.png{f'#{i % 5}' if flickr else ''}\t{caption}"
             for i, caption in enumerate(captions)]
    index = pick % len(lines)
    if kind == "missing_tab":
        lines[index] = lines[index].replace("\t", " ")
    elif kind == "extra_tab":
        lines[index] += "\tmore"
    elif kind == "empty_caption":
        lines[index] = "red.png\t "
    elif kind == "missing_image":
        lines[index] = lines[index].replace("red.png", "gone.png")
    elif kind == "truncated":
        lines = lines[: index + 1]
    path = tmp_path / "captions.tsv"
    write_lines(path, lines, index + 1 if kind == "bad_bytes" else None)
    data = read_or_fail_at(read_captions, path, None if kind in ("none", "truncated") else index)
    if data is not None:
        assert data.captions == [line.split("\t")[1] for line in lines]


def check_corpus(tmp_path, lines, kind, pick):
    index = pick % len(lines)
    if kind == "truncated":
        lines = lines[: index + 1]
    path = tmp_path / "corpus.txt"
    write_lines(path, lines, index + 1 if kind == "bad_bytes" else None)
    if kind != "bad_bytes":
        assert "".join(iter_line_chunks(path, lines_per_chunk=3)) == "".join(
            f"{line}\n" for line in lines)
        return
    with pytest.raises(DataError) as error:
        "".join(iter_line_chunks(path, lines_per_chunk=3))
    assert str(error.value).startswith(f"{path}:{index + 1}: bytes are not valid UTF-8")


CORPUS_LINES = st.lists(st.text(st.characters(blacklist_categories=("Cs",),
                                               blacklist_characters="\r\n"), max_size=30),
                        min_size=1, max_size=10)


def fuzz(max_examples: int):
    """Every example corrupts (or not) one file of each kind, each in its own way."""

    @settings(max_examples=max_examples, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(sentences=SENTENCES, conll_kind=st.sampled_from(CONLL_CORRUPTIONS), pairs=PAIRS,
           tsv_kind=st.sampled_from(TSV_CORRUPTIONS),
           captions=st.lists(SENTENCE_TEXT, min_size=1, max_size=8),
           caption_kind=st.sampled_from(CAPTION_CORRUPTIONS), flickr=st.booleans(),
           corpus=CORPUS_LINES, corpus_kind=st.sampled_from(("none", "bad_bytes", "truncated")),
           pick=st.integers(0, 100))
    def run(tmp_path, sentences, conll_kind, pairs, tsv_kind, captions, caption_kind, flickr,
            corpus, corpus_kind, pick):
        check_conll(tmp_path, sentences, conll_kind, pick)
        check_tsv(tmp_path, pairs, tsv_kind, pick)
        check_captions(tmp_path, captions, caption_kind, pick, flickr)
        check_corpus(tmp_path, corpus, corpus_kind, pick)

    return run


test_corrupted_files_of_every_reader_fast = fuzz(FAST_CASES)
test_corrupted_files_of_every_reader_many = pytest.mark.slow(fuzz(SLOW_CASES))
