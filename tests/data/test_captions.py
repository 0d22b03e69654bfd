"""Caption files (TSV and Flickr8k token format) and the seeded generated caption sets."""

import numpy as np
import pytest

from helpers import DATA
from seqtasks.data.caption_sets import (SPLITS, WORDS, DigitReading, Scenes, generate, png_bytes,
                                        write_caption_set)
from seqtasks.data.captions import read_captions
from seqtasks.errors import DataError


@pytest.fixture
def folder(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    for name in ("a.png", "b.png"):
        (images / name).write_bytes(png_bytes(np.zeros((8, 8), np.uint8)))
    (images / "broken.jpg").write_bytes(b"not an image at all")
    return tmp_path


def write(path, lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_reads_tsv_with_header_and_flickr_tokens(folder):
    tsv = write(folder / "captions.tsv", ["image\tcaption", "a.png\tone two", "", "b.png\tthree"])
    data = read_captions(tsv, folder / "images")
    assert data.captions == ["one two", "three"] and data.lines == [2, 4]
    assert data.images == [str(folder / "images" / "a.png"), str(folder / "images" / "b.png")]

    flickr = write(folder / "Flickr8k.token.txt", [
        "a.png#0\tA dog runs .", "a.png#1\tA brown dog is running .", "b.png#0\tTwo cats ."])
    data = read_captions(flickr, folder / "images")
    assert len(data) == 3
    images, references = data.references()
    assert [i.rsplit("/", 1)[1] for i in images] == ["a.png", "b.png"]
    assert references == [["A dog runs .", "A brown dog is running ."], ["Two cats ."]]


@pytest.mark.parametrize("line, problem", [
    ("missing.png\tsome caption", r"captions.tsv:2: image .*missing.png not found"),
    ("broken.jpg\tsome caption", r"captions.tsv:2: unreadable image .*broken.jpg"),
    ("b.png\t  ", r"captions.tsv:2: empty caption for b.png"),
    ("b.png#3\t", r"captions.tsv:2: empty caption for b.png#3"),
    ("b.png some caption", r"captions.tsv:2: no tab on this line"),
])
def test_errors_name_file_and_line(folder, line, problem):
    tsv = write(folder / "captions.tsv", ["a.png\tfine", line])
    with pytest.raises(DataError, match=problem):
        read_captions(tsv, folder / "images")


def test_images_folder_defaults_to_the_captions_folder(folder, tmp_path):
    write(folder / "images" / "c.tsv", ["a.png\tok"])
    assert read_captions(folder / "images" / "c.tsv").images[0].endswith("images/a.png")
    with pytest.raises(DataError, match="images folder not found"):
        read_captions(folder / "images" / "c.tsv", tmp_path / "nowhere")


def test_digit_generator_is_seeded_and_reads_left_to_right():
    generator = DigitReading(1, 5, two_rows=True)
    first, again = generate(generator, "train", 20, seed=3), generate(generator, "train", 20, 3)
    assert all(np.array_equal(a[0], b[0]) and a[1] == b[1] for a, b in zip(first, again))
    other = generate(generator, "train", 20, seed=4)
    assert [c for _, c in first] != [c for _, c in other]
    for image, caption in first:
        assert image.shape == (40, 112) and image.dtype == np.uint8 and image.max() > 100
        assert 1 <= len(caption.split()) <= 5 and set(caption.split()) <= set(WORDS)
    # Splits have their own streams: the test split does not change with the train size.
    assert [c for _, c in generate(generator, "test", 5, 3)] == \
        [c for _, c in generate(generator, "test", 5, 3)]


def test_digit_splits_use_disjoint_source_digits():
    pools = DigitReading().pools
    flat = {split: {pools[split][0][i].tobytes() for i in range(len(pools[split][1]))}
            for split in SPLITS}
    assert sum(len(pools[s][1]) for s in SPLITS) == 1797
    assert not flat["train"] & flat["test"] and not flat["train"] & flat["valid"]


def test_scene_captions_name_two_shapes_and_a_relation():
    for image, caption in generate(Scenes(), "valid", 10, seed=0):
        words = caption.split()
        assert image.shape == (64, 64, 3) and words[0] == "a"
        assert " ".join(words[3:-3]) in ("left of", "right of", "above", "below")


def test_written_sets_are_byte_identical_for_one_seed(tmp_path):
    sizes = {"train": 4, "valid": 2}
    first = write_caption_set(tmp_path / "a", Scenes(), sizes, seed=5)
    second = write_caption_set(tmp_path / "b", Scenes(), sizes, seed=5)
    for split in sizes:
        assert first[split].read_text() == second[split].read_text()
        data = read_captions(first[split])  # the reader accepts what the generator writes
        assert len(data) == sizes[split]
    for name in sorted(p.name for p in (tmp_path / "a" / "images").iterdir()):
        assert (tmp_path / "a" / "images" / name).read_bytes() == \
            (tmp_path / "b" / "images" / name).read_bytes()


@pytest.mark.parametrize("kind, generator", [("digits", DigitReading(1, 5, two_rows=True)),
                                             ("scenes", Scenes())])
def test_bundled_samples_are_what_the_generators_write(kind, generator, tmp_path):
    bundled = DATA / "captions" / kind
    written = write_caption_set(tmp_path, generator, {"train": 24, "valid": 8}, seed=0)
    for split, path in written.items():
        assert path.read_text() == (bundled / f"{split}.tsv").read_text()
        assert len(read_captions(bundled / f"{split}.tsv")) == {"train": 24, "valid": 8}[split]
    first = "images/train_00000.png"
    assert (tmp_path / first).read_bytes() == (bundled / first).read_bytes()
