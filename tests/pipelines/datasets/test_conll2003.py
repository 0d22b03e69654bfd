"""CoNLL-2003: both release layouts, IOB1 -> IOB2 in both tag columns, bytes kept otherwise."""

import pytest

from pipelines.datasets import prepare
from seqtasks.data.conll import read_conll
from seqtasks.errors import DataError

IOB1 = ("-DOCSTART- -X- O O\n\nEU NNP I-NP I-ORG\nrejects VBZ I-VP O\nGerman JJ I-NP I-MISC\n"
        "call NN I-NP O\n\nPeter NNP I-NP I-PER\nBlackburn NNP I-NP I-PER\nLondon NNP I-NP I-LOC\n"
        "Paris NNP B-NP B-LOC\n")
IOB2 = ("-DOCSTART- -X- O O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\nGerman JJ B-NP B-MISC\n"
        "call NN I-NP O\n\nPeter NNP B-NP B-PER\nBlackburn NNP I-NP I-PER\nLondon NNP I-NP B-LOC\n"
        "Paris NNP B-NP B-LOC\n")


def test_original_iob1_files_become_iob2(tmp_path):
    release = tmp_path / "ner"
    release.mkdir()
    for name in ("eng.train", "eng.testa", "eng.testb"):
        (release / name).write_text(IOB1, encoding="ascii")
    written = prepare("conll2003", tmp_path, tmp_path / "out")
    assert [w.path.name for w in written] == ["train.txt", "valid.txt", "test.txt"]
    assert (tmp_path / "out" / "train.txt").read_text() == IOB2
    data = read_conll(tmp_path / "out" / "valid.txt")
    assert data.file_scheme == "iob2" and data.repaired == 0


def test_iob2_copy_is_kept_byte_for_byte(tmp_path):
    body = IOB2.removesuffix("\n")  # the common copy has no final line break
    for name in ("train.txt", "valid.txt"):
        (tmp_path / name).write_text(body, encoding="ascii")
    written = prepare("conll2003", tmp_path, tmp_path / "out")
    assert [w.path.name for w in written] == ["train.txt", "valid.txt"]
    assert (tmp_path / "out" / "train.txt").read_text() == body
    assert written[0].lines == body.count("\n") + 1


@pytest.mark.parametrize("line", ["EU NNP B-NP", "EU NNP B-NP X-ORG", "EU  NNP B-NP B-ORG",
                                  "EU\tNNP\tB-NP\tB-ORG"])
def test_a_malformed_token_line_is_named(tmp_path, line):
    (tmp_path / "train.txt").write_text(f"-DOCSTART- -X- -X- O\n\nA DT B-NP O\n{line}\n")
    (tmp_path / "valid.txt").write_text("A DT B-NP O\n")
    with pytest.raises(DataError, match=r"train\.txt:4: expected 'TOKEN POS CHUNK NER'"):
        prepare("conll2003", tmp_path, tmp_path / "out")
