"""Pretrained word vectors: the four file formats, bad files, vocabulary merge, the matrix."""

from __future__ import annotations

import bz2
import collections
import dataclasses
import gzip
import re

import numpy as np
import pytest

from helpers import write, write_lines
from seqtasks.errors import ConfigError, DataError
from seqtasks.text import pretrained
from seqtasks.text.vocab import PAD_ID, RESERVED, UNK_ID, Vocabulary
from seqtasks.transfer.pretrain_vectors import write_vectors

WORDS = ["the", "film", "Paris", "good", "bad"]
MATRIX = np.arange(len(WORDS) * 3, dtype=np.float32).reshape(len(WORDS), 3) / 10 - 0.5


def rows(words=WORDS, matrix=MATRIX) -> list[str]:
    return [w + " " + " ".join(f"{x:.2f}" for x in row) for w, row in zip(words, matrix)]


@pytest.fixture(params=["glove.txt", "word2vec.txt", "fasttext.vec", "word2vec.bin",
                        "glove.txt.gz"])
def vectors_file(request, tmp_path):
    path = tmp_path / request.param
    if request.param.endswith(".bin"):
        write_vectors(path, WORDS, MATRIX)
    elif request.param.startswith("glove"):
        text = "".join(f"{line}\n" for line in rows())
        if path.suffix == ".gz":
            path.write_bytes(gzip.compress(text.encode()))
        else:
            write(path, text)
    else:
        write_lines(path, [f"{len(WORDS)} 3", *rows()])
    return path


def test_every_format_reads_the_same_words_and_rows(vectors_file):
    vectors = pretrained.read_vectors(vectors_file)
    assert vectors.words == WORDS
    np.testing.assert_allclose(vectors.matrix, MATRIX, atol=1e-6)
    assert pretrained.vectors_dimension(vectors_file) == 3


@pytest.mark.parametrize("lines, bad_line, line, problem", [
    ([*rows()[:2], "Paris 0.1 0.2", *rows()[3:]], None, 3, "2 numbers where the first row says 3"),
    (["5 3", *rows()[:2], "Paris 0.1 x 0.3", *rows()[3:]], None, 4, "not a number"),
    (["7 3", *rows()], None, 1, "the header says 7 vectors, the file holds 5"),
    (["3 3", *rows()], None, 1, "the header says 3 vectors, the file holds 5"),
    (rows(), 4, 4, "not UTF-8"),
    ([*rows()[:2], "", *rows()[2:]], None, 3, "empty line"),
    ([], None, 1, "empty vectors file"),
])
def test_a_bad_file_names_its_line(tmp_path, lines, bad_line, line, problem):
    path = write_lines(tmp_path / "bad.txt", lines, bad_line=bad_line)
    with pytest.raises(DataError) as error:
        pretrained.read_vectors(path)
    assert error.value.line == line and problem in error.value.problem
    assert str(error.value).startswith(f"{path}:{line}: ")


def test_a_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="no such vectors file"):
        pretrained.vectors_dimension(tmp_path / "nope.txt")


def forms_lower(words):
    return [w.lower() for w in words]


def test_vocabulary_keeps_training_words_then_adds_the_most_frequent_pretrained(tmp_path):
    path = write_lines(tmp_path / "v.txt", rows())
    training = Vocabulary([*RESERVED, "film", "boring"])
    vocabulary, init = pretrained.pretrained_vocabulary(
        path, training, [["film", "boring", "film"]], forms_lower, max_size=8, seed=0,
        report_path=tmp_path / "report.json")
    # training words keep their ids; then the vectors' words in file order, as forms (Paris ->
    # paris), until max_size
    assert vocabulary.tokens == [*RESERVED, "film", "boring", "the", "paris"]
    assert init.report["train_token_coverage"] == pytest.approx(2 / 3, abs=1e-4)
    assert init.report["train_type_coverage"] == 0.5
    assert pretrained.EmbeddingInit.load(tmp_path / "report.json").report == init.report


def test_matrix_rows_are_the_file_rows_with_case_fallback(tmp_path):
    path = write_lines(tmp_path / "v.txt", rows())
    vocabulary = Vocabulary([*RESERVED, "paris", "FILM", "unseen"])
    index = pretrained.VectorIndex(pretrained.read_vectors(path), forms_lower)
    init = pretrained.embedding_init(vocabulary, index, collections.Counter(), seed=0)
    np.testing.assert_allclose(init.matrix[vocabulary.index["paris"]], MATRIX[2], atol=1e-6)
    np.testing.assert_allclose(init.matrix[vocabulary.index["FILM"]], MATRIX[1], atol=1e-6)
    assert not np.allclose(init.matrix[vocabulary.index["unseen"]], 0)  # drawn, not zero
    assert np.all(init.matrix[PAD_ID] == 0) and not np.allclose(init.matrix[UNK_ID], 0)
    assert init.report["vocab_rows_with_vector"] == 2


def test_uncovered_rows_are_drawn_at_the_vectors_scale(tmp_path):
    rng = np.random.default_rng(0)
    matrix = rng.normal(0, 3.0, (200, 8)).astype(np.float32)
    words = [f"w{i}" for i in range(200)]
    path = tmp_path / "v.txt"
    write_vectors(path, words, matrix)
    vocabulary = Vocabulary([*RESERVED, *[f"new{i}" for i in range(300)]])
    index = pretrained.VectorIndex(pretrained.read_vectors(path), forms_lower)
    init = pretrained.embedding_init(vocabulary, index, collections.Counter(), seed=0)
    assert init.matrix[len(RESERVED):].std() == pytest.approx(3.0, rel=0.1)


def test_embedding_dim_comes_from_the_file(tmp_path):
    from pipelines.sentiment import SentimentConfig

    path = write_lines(tmp_path / "v.txt", rows())
    config = pretrained.with_vectors_dimension(SentimentConfig(embeddings=str(path)))
    assert config.embedding_dim == 3
    with pytest.raises(ConfigError, match="embedding_dim=64, but embeddings=.* holds "
                                          "3-dimensional vectors"):
        pretrained.with_vectors_dimension(SentimentConfig(embeddings=str(path), embedding_dim=64))
    assert dataclasses.replace(SentimentConfig()) == pretrained.with_vectors_dimension(
        SentimentConfig())


def binary_vectors(path, words=WORDS, matrix=MATRIX, header=None):
    """A word2vec binary file written the way word2vec writes it (tests tamper with it)."""
    body = b"".join(w.encode() + b" " + row.astype("<f4").tobytes() + b"\n"
                    for w, row in zip(words, matrix))
    return write(path, (header or f"{len(words)} {matrix.shape[1]}\n").encode() + body)


@pytest.mark.parametrize("lines, line, problem", [
    ([*rows()[:3], rows()[1], *rows()[4:]], 4, "'film' is repeated: also on line 2"),
    (["5 3", *rows()[:2], rows()[0], *rows()[3:]], 4, "'the' is repeated: also on line 2"),
    ([*rows()[:2], "Paris 0.1 nan 0.3", *rows()[3:]], 3, "'Paris' has a non-finite value (nan) "
                                                         "at position 2"),
    ([*rows()[:2], "Paris 0.1 0.2 -inf", *rows()[3:]], 3, "non-finite value (-inf)"),
    ([*rows()[:2], "Paris 0.1 0.2 1e39", *rows()[3:]], 3, "non-finite value (inf)"),
    (["0 3"], 1, "the header says the file holds no vectors"),
    (["5 1000000", *rows()], 1, "the header says 1000000-dimensional vectors; at most 100,000"),
    (["2000000000 3", *rows()], 1, "the header claims 2,000,000,000 vectors of 3 numbers"),
    ([*rows()[:2], "Paris 0.1 0.2 0.3 0.4", *rows()[3:]], 3, "4 numbers where the first row "
                                                             "says 3"),
])
def test_every_text_defect_is_one_line_naming_file_and_line(tmp_path, lines, line, problem):
    path = write_lines(tmp_path / "bad.vec", lines)
    with pytest.raises(DataError) as error:
        pretrained.read_vectors(path)
    assert error.value.line == line and problem in error.value.problem, str(error.value)
    assert str(error.value).startswith(f"{path}:{line}: ") and "\n" not in str(error.value)


@pytest.mark.parametrize("suffix, compress", [(".gz", gzip.compress), (".bz2", bz2.compress)])
def test_a_truncated_archive_is_named(tmp_path, suffix, compress):
    text = "".join(f"{line}\n" for line in rows() * 1) + "".join(
        f"w{i} 0.1 0.2 0.3\n" for i in range(2000))
    whole = write(tmp_path / f"whole.txt{suffix}", compress(text.encode()))
    assert pretrained.read_vectors(whole).matrix.shape == (2005, 3)
    cut = write(tmp_path / f"cut.txt{suffix}", whole.read_bytes()[:len(whole.read_bytes()) // 2])
    with pytest.raises(DataError, match=rf"cut.txt{suffix}:\d+: the {suffix} archive is "
                                        "truncated or corrupt"):
        pretrained.read_vectors(cut)


@pytest.mark.parametrize("name, content, problem", [
    ("v.txt", gzip.compress(b"the 0.1 0.2\n"), "a .gz archive, but named .txt"),
    ("v.txt.gz", b"the 0.1 0.2\n", "not compressed, but named .gz"),
    ("v.zip", b"PK\x03\x04 rest of a zip", "a .zip archive: vectors are read plain, .gz or .bz2"),
    ("v.bin", b"2 3\nthe 0.1 0.2 0.3\nfilm 0.4 0.5 0.6\n", "a text vectors file (its rows are "
                                                           "words and numbers) named .bin"),
    ("v.bin", b"", "empty vectors file"),
    ("v.txt.gz", gzip.compress(b""), "empty vectors file"),
    ("v.bin", b"the 0.1 0.2 0.3\n", "a word2vec binary file starts with a 'count dim' header"),
])
def test_a_file_named_for_another_format_is_detected(tmp_path, name, content, problem):
    path = write(tmp_path / name, content)
    with pytest.raises(DataError, match=":[12]: " + re.escape(problem)):
        pretrained.read_vectors(path)


def test_a_binary_file_named_as_text_says_so(tmp_path):
    path = binary_vectors(tmp_path / "v.vec", matrix=MATRIX + 1000)
    with pytest.raises(DataError, match="v.vec:2: bytes that are not UTF-8 .*this looks like a "
                                        "word2vec binary file: name it .bin"):
        pretrained.read_vectors(path)


def test_a_good_binary_file_reads(tmp_path):
    vectors = pretrained.read_vectors(binary_vectors(tmp_path / "v.bin"))
    assert vectors.words == WORDS
    np.testing.assert_array_equal(vectors.matrix, MATRIX)


@pytest.mark.parametrize("words, matrix, header, line, problem", [
    (WORDS, MATRIX, "2000000000 3\n", 1, "the header claims 2,000,000,000 vectors of 3 numbers "
                                         "(at least 28,000,000,000 bytes), but the file has"),
    (["the", "film", "the"], MATRIX[:3], None, 4, "vector 3: 'the' is repeated: also on line 2"),
    (WORDS, np.where(MATRIX == MATRIX[2, 1], np.nan, MATRIX), None, 4,
     "vector 3: 'Paris' has a non-finite value (nan) at position 2"),
    (WORDS, MATRIX, "6 3\n", 7, "the file ends after 5 of the 6 vectors its header claims"),
    (WORDS, MATRIX, "4 3\n", 6, "more data after the 4 vectors the header claims"),
    (WORDS, MATRIX, "5 200000\n", 1, "200000-dimensional vectors; at most 100,000"),
])
def test_every_binary_defect_is_one_line_before_anything_is_allocated(tmp_path, words, matrix,
                                                                       header, line, problem):
    path = binary_vectors(tmp_path / "v.bin", words, matrix, header)
    with pytest.raises(DataError) as error:
        pretrained.read_vectors(path)
    assert str(error.value).startswith(f"{path}:{line}: ") and problem in str(error.value), \
        str(error.value)


def test_a_truncated_gzipped_binary_file_with_an_absurd_header_is_refused_streamed(tmp_path):
    body = binary_vectors(tmp_path / "v.bin", header="2000000000 3\n").read_bytes()
    path = write(tmp_path / "v.bin.gz", gzip.compress(body))
    with pytest.raises(DataError, match="v.bin.gz:7: the file ends after 5 of the "
                                        "2,000,000,000 vectors"):
        pretrained.read_vectors(path)
