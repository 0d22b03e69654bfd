import pytest
import tensorflow as tf

from helpers import DATA, write
from seqtasks.data.parallel import read_lines, read_monolingual, read_parallel
from seqtasks.data.batching import parallel_dataset
from seqtasks.errors import DataError
from seqtasks.text import Vocabulary
from seqtasks.text.encoder import TextEncoder
from seqtasks.text.vocab import BOS_ID, EOS_ID


def test_two_aligned_files_and_a_tsv_give_the_same_pairs(tmp_path):
    de = write(tmp_path / "a.de", "Ein Hund.\r\nZwei Katzen.\n")
    en = write(tmp_path / "a.en", "A dog.\r\nTwo cats.")  # CRLF and no final newline
    tsv = write(tmp_path / "a.tsv", "Ein Hund.\tA dog.\nZwei Katzen.\tTwo cats.\tCC-BY x\n")
    for data in (read_parallel([de, en]), read_parallel(tsv), read_parallel([tsv])):
        assert data.sources == ["Ein Hund.", "Zwei Katzen."]
        assert data.targets == ["A dog.", "Two cats."]
        assert data.lines == [1, 2] and len(data) == 2
    assert read_parallel((de, en)).path == f"{de} + {en}"


def test_mismatched_line_counts_name_both_files_and_the_first_extra_line(tmp_path):
    de = write(tmp_path / "a.de", "eins\nzwei\ndrei\n")
    en = write(tmp_path / "a.en", "one\ntwo\n")
    with pytest.raises(DataError, match=r"a\.de:3: .*a\.de has 3 lines but .*a\.en has 2 "
                                        r"\(the files must be aligned line by line\)"):
        read_parallel([de, en])


def test_an_empty_line_on_one_side_is_an_error_at_that_line(tmp_path):
    de = write(tmp_path / "a.de", "eins\n\ndrei\n")
    en = write(tmp_path / "a.en", "one\ntwo\nthree\n")
    with pytest.raises(DataError, match=r"a\.de:2: empty source sentence .*misaligned"):
        read_parallel([de, en])
    tsv = write(tmp_path / "a.tsv", "eins\tone\nzwei\t \n")
    with pytest.raises(DataError, match=r"a\.tsv:2: empty target sentence"):
        read_parallel(tsv)


def test_blank_and_over_long_pairs_are_skipped_and_counted(tmp_path):
    tsv = write(tmp_path / "a.tsv", "eins\tone\n\n\t\na b c d\tone two\nzwei\ttwo\nx\ta b c d\n")
    data = read_parallel(tsv, max_words=3)
    assert data.sources == ["eins", "zwei"] and data.lines == [1, 5]
    assert data.skipped == {"blank": 2, "too_long": 2}
    assert len(read_parallel(tsv)) == 4  # evaluation reads keep every non-blank pair
    with pytest.raises(DataError, match="no sentence pairs .*more than 1 words; raise max_words"):
        read_parallel(write(tmp_path / "long.tsv", "a b\tc d\n"), max_words=1)


@pytest.mark.parametrize("content, message", [
    ("eins one\n", r"a\.tsv:1: no tab on this line \(each line must be source<TAB>target"),
    ("", r"a\.tsv: file is empty"),
    ("\n\n", r"a\.tsv: no sentence pairs \(every line is blank\)"),
    (b"eins\tone\nzw\xffei\ttwo\n", r"a\.tsv:2: bytes are not valid UTF-8 at column 3"),
])
def test_bad_tsv_files(tmp_path, content, message):
    with pytest.raises(DataError, match=message):
        read_parallel(write(tmp_path / "a.tsv", content))


def test_missing_files_and_wrong_file_counts(tmp_path):
    with pytest.raises(DataError, match=r"missing\.de: file not found"):
        read_parallel([tmp_path / "missing.de", tmp_path / "missing.en"])
    with pytest.raises(DataError, match="expected one TSV file or two aligned files, got 3"):
        read_parallel(["a", "b", "c"])
    with pytest.raises(DataError, match="expected one text file, got 2"):
        read_monolingual([tmp_path / "a", tmp_path / "b"])


def test_monolingual_sentences_are_their_own_targets(tmp_path):
    data = read_monolingual(write(tmp_path / "s.txt", "one two\n\nthree four five\nsix\n"),
                            max_words=2)
    assert data.sources == data.targets == ["one two", "six"]
    assert data.skipped == {"blank": 1, "too_long": 1}


def test_read_lines_keeps_empty_lines_and_line_separators_inside_lines(tmp_path):
    path = write(tmp_path / "x.txt", "a\u2028b\n\nc\r\n")
    assert read_lines(path) == ["a\u2028b", "", "c"]


def test_the_bundled_sample_reads_cleanly():
    for split, n in (("train", 420), ("valid", 80)):
        data = read_parallel(DATA / "translation" / f"{split}.tsv", max_words=50)
        assert len(data) == n and data.skipped == {"blank": 0, "too_long": 0}


def test_parallel_batches_shift_targets_for_teacher_forcing_and_weight_out_padding():
    sources, targets = ["a b c", "d", "e f"], ["x y", "z", "x x x x x"]
    encoder = TextEncoder(Vocabulary.build(s.split() for s in sources + targets), "word",
                          lowercase=True, max_length=4)
    batches = list(parallel_dataset(sources, targets, encoder, encoder, batch_size=3,
                                    max_length=4, shuffle=False, seed=0))
    assert len(batches) == 1
    (source_ids, decoder_in), decoder_out, weights = batches[0]
    source_ids, decoder_in, decoder_out, weights = (
        t.numpy() for t in (source_ids, decoder_in, decoder_out, weights))
    target_ids = encoder(tf.constant(targets)).to_list()  # the long target is cut to 4 tokens
    for row, ids in enumerate(target_ids):
        n = len(ids)
        assert decoder_in[row, : n + 1].tolist() == [BOS_ID, *ids]
        assert decoder_out[row, : n + 1].tolist() == [*ids, EOS_ID]
        assert weights[row].tolist() == [1.0] * (n + 1) + [0.0] * (5 - n - 1)
    assert source_ids.shape == (3, 3) and decoder_in.shape == decoder_out.shape == (3, 5)


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r"])
def test_every_line_ending_reads_the_same_pairs(tmp_path, ending):
    from seqtasks.data.parallel import read_lines, read_parallel

    path = tmp_path / "pairs.tsv"
    path.write_text(ending.join(["Hallo\tHello", "", "Danke\tThanks"]) + ending, newline="")
    assert read_lines(path) == ["Hallo\tHello", "", "Danke\tThanks"]
    data = read_parallel(path)
    assert (data.sources, data.targets, data.lines) == (["Hallo", "Danke"], ["Hello", "Thanks"],
                                                        [1, 3])
