"""CoNLL column reader: columns, documents, sentence breaks, schemes, and errors with file:line."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import DATA
from seqtasks.data.conll import read_conll
from seqtasks.errors import DataError

CONLL2003_STYLE = """-DOCSTART- -X- -X- O

EU NNP B-NP B-ORG
rejects VBZ B-VP O
German JJ B-NP B-MISC
call NN I-NP O

Peter NNP B-NP B-PER
Blackburn NNP I-NP I-PER
-DOCSTART- -X- -X- O

BRUSSELS NNP B-NP B-LOC
1996-08-22 CD I-NP O"""  # no trailing newline, like the real files


def write(tmp_path, text: str, name: str = "data.txt"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_reads_conll2003_columns_documents_and_last_sentence(tmp_path):
    data = read_conll(write(tmp_path, CONLL2003_STYLE))
    assert data.tokens == [["EU", "rejects", "German", "call"], ["Peter", "Blackburn"],
                           ["BRUSSELS", "1996-08-22"]]
    assert data.tags[1] == ["B-PER", "I-PER"]
    assert data.lines == [[3, 4, 5, 6], [8, 9], [12, 13]]
    assert data.documents == [1, 1, 2]
    assert (data.file_scheme, data.scheme, data.repaired) == ("iob2", "iob2", 0)


def test_other_columns_and_conversion(tmp_path):
    path = write(tmp_path, CONLL2003_STYLE)
    chunks = read_conll(path, token_column=1, tag_column=2, scheme="iobes")
    assert chunks.tokens[0] == ["NNP", "VBZ", "JJ", "NN"]
    assert chunks.tags[0] == ["S-NP", "S-VP", "B-NP", "E-NP"]
    assert read_conll(path, scheme="iobes").tags[1] == ["B-PER", "E-PER"]


def test_iob1_file_is_detected_and_converted(tmp_path):
    path = write(tmp_path, "Peter I-PER\nBlackburn I-PER\nJohn B-PER\nsaid O\n\nBonn I-LOC\n")
    data = read_conll(path, scheme="iob2")
    assert data.file_scheme == "iob1"
    assert data.tags == [["B-PER", "I-PER", "B-PER", "O"], ["B-LOC"]]


def test_bundled_sample_is_valid_iob2():
    for split, sentences in (("train", 40), ("valid", 16)):
        data = read_conll(DATA / "ner" / f"{split}.txt", file_scheme="iob2", invalid_tags="error")
        assert len(data) == sentences
        assert {tag.partition("-")[2] for tags in data.tags for tag in tags} == {
            "", "PER", "ORG", "LOC", "MISC"}


def test_wrong_column_count_names_file_and_line(tmp_path):
    path = write(tmp_path, "EU NNP B-ORG\nrejects VBZ O\n\nPeter B-PER\n")
    with pytest.raises(DataError) as error:
        read_conll(path)
    assert str(error.value).startswith(f"{path}:4: 2 columns, expected 3 as on line 1")
    assert error.value.line == 4


def test_tag_not_in_scheme(tmp_path):
    path = write(tmp_path, "EU B-ORG\nsaid O\nhere X-LOC\n")
    with pytest.raises(DataError, match=rf"{path}:3: tag 'X-LOC' is not in the IOBES scheme"):
        read_conll(path)
    path = write(tmp_path, "EU S-ORG\n", "iobes.txt")
    with pytest.raises(DataError, match=r"iobes.txt:1: tag 'S-ORG' is not in the IOB2 scheme"):
        read_conll(path, file_scheme="iob2")


def test_i_after_o_is_repaired_or_reported(tmp_path):
    text = "The O\nEU B-ORG\n\nsaid O\nPeter I-PER\nBlackburn I-PER\n"
    path = write(tmp_path, text)
    data = read_conll(path, file_scheme="iob2")
    assert data.tags[1] == ["O", "B-PER", "I-PER"]
    assert data.repaired == 1
    assert data.repair_summary() == (
        f"{path}: repaired the tags of 1 sentence that broke iob2 (as conlleval reads them): "
        "line 5: tag 'I-PER' is not valid IOB2 between 'O' and 'I-PER' (expected 'B-PER')")
    with pytest.raises(DataError) as error:
        read_conll(path, file_scheme="iob2", invalid_tags="error")
    message = str(error.value)
    assert message.startswith(f"{path}:5: tag 'I-PER' is not valid IOB2 between 'O' and 'I-PER'")
    assert "invalid_tags=repair" in message


def test_column_index_out_of_range(tmp_path):
    path = write(tmp_path, "EU B-ORG\n")
    with pytest.raises(DataError, match=r":1: 2 columns, so there is no column 3 .*tag_column="):
        read_conll(path, tag_column=3)


@pytest.mark.parametrize("text, problem", [
    ("", "no sentences found"),
    ("-DOCSTART- O\n\n\n", "no sentences found"),
])
def test_empty_files(tmp_path, text, problem):
    with pytest.raises(DataError, match=problem):
        read_conll(write(tmp_path, text))


def test_missing_file_and_bad_encoding(tmp_path):
    with pytest.raises(DataError, match="missing.txt: file not found"):
        read_conll(tmp_path / "missing.txt")
    path = tmp_path / "latin1.txt"
    path.write_bytes("EU B-ORG\nK\xf6ln B-LOC\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"latin1.txt:2: bytes are not valid UTF-8"):
        read_conll(path)


def test_unknown_invalid_tags_policy(tmp_path):
    with pytest.raises(ValueError, match="Unknown invalid_tags 'fix'"):
        read_conll(write(tmp_path, "EU B-ORG\n"), invalid_tags="fix")


TOKEN = st.text(st.characters(blacklist_categories=("Z", "Cc", "Cs"), blacklist_characters="\x85"),
                min_size=1, max_size=6).filter(lambda t: t != "-DOCSTART-")
TAG = st.sampled_from(["O", "B-PER", "B-LOC"])
SENTENCES = st.lists(st.lists(st.tuples(TOKEN, TAG), min_size=1, max_size=5), min_size=1,
                     max_size=5)


@settings(max_examples=50, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sentences=SENTENCES, separator=st.sampled_from([" ", "\t", "  "]),
       blank_lines=st.integers(1, 3))
def test_written_sentences_read_back(tmp_path, sentences, separator, blank_lines):
    text = ("\n" * (blank_lines + 1)).join(
        "\n".join(f"{token}{separator}{tag}" for token, tag in sentence) for sentence in sentences)
    data = read_conll(write(tmp_path, text))
    assert data.tokens == [[token for token, _ in sentence] for sentence in sentences]
    assert data.tags == [[tag for _, tag in sentence] for sentence in sentences]


def test_tag_set_has_every_prefix_and_unknown_types_are_reported(tmp_path):
    from seqtasks.data.conll import check_known_tags, tag_set

    train = read_conll(write(tmp_path, "EU B-ORG\nsaid O\n", "train.txt"), scheme="iobes")
    assert tag_set(train) == ["O", "B-ORG", "I-ORG", "E-ORG", "S-ORG"]
    valid = read_conll(write(tmp_path, "EU B-ORG\n\nin O\nBonn B-LOC\n", "valid.txt"))
    with pytest.raises(DataError, match=r"valid.txt:4: entity type 'LOC' never occurs in the "
                                        r"training data \(known types: ORG\)"):
        check_known_tags(valid, tag_set(train))


def test_a_first_token_line_without_a_tag_is_the_line_named(tmp_path):
    path = tmp_path / "notag.txt"
    path.write_text("-DOCSTART- O\n\nBonn\nis O\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"notag.txt:3: 1 column: a token line needs a token and "
                                        r"a tag"):
        read_conll(path)


@pytest.mark.parametrize("ending", ["\r\n", "\r"])
def test_crlf_and_lone_cr_files_read_like_lf(tmp_path, ending):
    text = "EU B-ORG\nrejects O\n\nPeter B-PER\nBlackburn I-PER\n"
    lf = tmp_path / "lf.txt"
    lf.write_text(text, newline="")
    other = tmp_path / "other.txt"
    other.write_text(text.replace("\n", ending), newline="")
    expected, got = read_conll(lf), read_conll(other)
    assert (got.tokens, got.tags, got.lines) == (expected.tokens, expected.tags, expected.lines)
    assert got.tokens == [["EU", "rejects"], ["Peter", "Blackburn"]]
