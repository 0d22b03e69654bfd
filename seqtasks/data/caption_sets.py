"""Seeded development sets for image captioning, written as PNG files + TSV so that training
reads them like any other captions (``seqtasks.data.captions``). No downloads.

- ``digits``: multi-digit "reading". 1 to ``max_digits`` real handwritten digits from
  scikit-learn's copy of the UCI optical digits set (``sklearn.datasets.load_digits``: 1,797
  8x8 images) placed on a 40x112 canvas with random spacing and height, optionally in two rows;
  the caption reads them as words, left to right, top row first: "three one four". The source
  digits are split once (70/15/15 %, fixed seed) so test images use digits never seen in training.
- ``scenes``: two coloured shapes (circle, square, triangle; red, green, blue, yellow) on a 64x64
  canvas in a spatial relation: "a red circle left of a blue square".

    python -m seqtasks.data.caption_sets digits OUT_DIR [--train N --valid N --test N --seed S]

writes ``OUT_DIR/images/<split>_00000.png ...`` and ``OUT_DIR/<split>.tsv`` (``image<TAB>caption``
with a header). The same seed gives the same files; each split has its own random stream, so a
split's contents do not depend on the sizes of the others.
"""

from __future__ import annotations

import argparse
import functools
from pathlib import Path

import numpy as np

from seqtasks.io import atomic_path, atomic_write_text

SPLITS = ("train", "valid", "test")
WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
DIGIT_CANVAS = (40, 112)  # height, width
DIGIT_SIZE = 16  # the 8x8 digits are scaled up to this
COLOURS = {"red": (220, 40, 40), "green": (40, 170, 60), "blue": (50, 80, 220),
           "yellow": (230, 200, 30)}
SHAPES = ("circle", "square", "triangle")
RELATIONS = ("left of", "right of", "above", "below")
SCENE_SIZE = 64


@functools.cache
def _digit_pools(seed: int = 0) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """sklearn's digits as uint8 16x16 images, split 70/15/15 % into disjoint pools per split."""
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    order = np.random.default_rng(seed).permutation(len(digits.target))
    images = np.stack([np.asarray(Image.fromarray((image * 255 / 16).astype(np.uint8)).resize(
        (DIGIT_SIZE, DIGIT_SIZE), Image.BILINEAR)) for image in digits.images])
    cut = [int(len(order) * 0.7), int(len(order) * 0.85)]
    parts = np.split(order, cut)
    return {split: (images[part], digits.target[part]) for split, part in zip(SPLITS, parts)}


class DigitReading:
    """Canvases of 1..``max_digits`` handwritten digits; ``two_rows``: half of the images with two
    or more digits put them in two rows."""

    def __init__(self, min_digits: int = 1, max_digits: int = 5, two_rows: bool = False):
        if not 1 <= min_digits <= max_digits <= 5:
            raise ValueError(f"need 1 <= min_digits <= max_digits <= 5, got {min_digits}, "
                             f"{max_digits}")
        self.min_digits, self.max_digits, self.two_rows = min_digits, max_digits, two_rows
        self.pools = _digit_pools()

    def __call__(self, split: str, rng: np.random.Generator) -> tuple[np.ndarray, str]:
        images, labels = self.pools[split]
        count = int(rng.integers(self.min_digits, self.max_digits + 1))
        picks = rng.integers(0, len(labels), size=count)
        rows = [list(picks)]
        if self.two_rows and count >= 2 and rng.random() < 0.5:
            split_at = int(rng.integers(1, count))
            rows = [list(picks[:split_at]), list(picks[split_at:])]
        height, width = DIGIT_CANVAS
        canvas = np.zeros(DIGIT_CANVAS, np.uint8)
        band = height // len(rows)
        for row_index, row in enumerate(rows):
            gaps = rng.integers(0, 5, size=len(row))
            free = width - len(row) * DIGIT_SIZE - int(gaps.sum())
            x = int(rng.integers(0, free + 1))
            for pick, gap in zip(row, gaps):
                y = row_index * band + int(rng.integers(0, band - DIGIT_SIZE + 1))
                x += int(gap)
                canvas[y : y + DIGIT_SIZE, x : x + DIGIT_SIZE] = np.maximum(
                    canvas[y : y + DIGIT_SIZE, x : x + DIGIT_SIZE], images[pick])
                x += DIGIT_SIZE
        return canvas, " ".join(WORDS[labels[pick]] for row in rows for pick in row)


class Scenes:
    """Two shapes of different colour/shape combinations in one of four relations."""

    def __call__(self, split: str, rng: np.random.Generator) -> tuple[np.ndarray, str]:
        from PIL import Image, ImageDraw

        first = (str(rng.choice(list(COLOURS))), str(rng.choice(SHAPES)))
        second = first
        while second == first:
            second = (str(rng.choice(list(COLOURS))), str(rng.choice(SHAPES)))
        relation = str(rng.choice(RELATIONS))
        size = [int(rng.integers(12, 19)) for _ in range(2)]
        # The first shape's centre, then the second's, far enough apart along the relation's axis.
        along = [int(rng.integers(10, 22)), int(rng.integers(42, 55))]
        across = [int(rng.integers(12, 53)) for _ in range(2)]
        if relation in ("right of", "below"):
            along.reverse()
        horizontal = relation in ("left of", "right of")
        centres = [(a, c) if horizontal else (c, a) for a, c in zip(along, across)]
        image = Image.new("RGB", (SCENE_SIZE, SCENE_SIZE), (255, 255, 255))
        draw = ImageDraw.Draw(image)
        for (colour, shape), (x, y), s in zip((first, second), centres, size):
            box = (x - s // 2, y - s // 2, x + s // 2, y + s // 2)
            fill = COLOURS[colour]
            if shape == "circle":
                draw.ellipse(box, fill=fill)
            elif shape == "square":
                draw.rectangle(box, fill=fill)
            else:
                draw.polygon([(x, box[1]), (box[0], box[3]), (box[2], box[3])], fill=fill)
        caption = f"a {first[0]} {first[1]} {relation} a {second[0]} {second[1]}"
        return np.asarray(image), caption


GENERATORS = {"digits": DigitReading, "scenes": Scenes}


def png_bytes(image: np.ndarray) -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def generate(generator, split: str, count: int, seed: int) -> list[tuple[np.ndarray, str]]:
    """``count`` (image, caption) pairs of ``split``, from the split's own seeded stream."""
    rng = np.random.default_rng([seed, SPLITS.index(split)])
    return [generator(split, rng) for _ in range(count)]


def write_caption_set(out_dir: str | Path, generator, sizes: dict[str, int], seed: int = 0
                      ) -> dict[str, Path]:
    """Write every split of ``sizes`` (e.g. ``{"train": 5000, "valid": 500, "test": 500}``) as
    PNG files under ``out_dir/images`` and ``out_dir/<split>.tsv``; returns the TSV paths."""
    out_dir = Path(out_dir)
    (out_dir / "images").mkdir(parents=True, exist_ok=True)
    written = {}
    for split, count in sizes.items():
        lines = ["image\tcaption"]
        for index, (image, caption) in enumerate(generate(generator, split, count, seed)):
            name = f"{split}_{index:05d}.png"
            with atomic_path(out_dir / "images" / name) as tmp:
                tmp.write_bytes(png_bytes(image))
            lines.append(f"images/{name}\t{caption}")
        written[split] = out_dir / f"{split}.tsv"
        atomic_write_text(written[split], "\n".join(lines) + "\n")
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m seqtasks.data.caption_sets",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("kind", choices=GENERATORS)
    parser.add_argument("out_dir")
    parser.add_argument("--train", type=int, default=5000)
    parser.add_argument("--valid", type=int, default=500)
    parser.add_argument("--test", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--min-digits", type=int, default=1)
    parser.add_argument("--max-digits", type=int, default=5)
    parser.add_argument("--two-rows", action="store_true")
    args = parser.parse_args(argv)
    generator = (DigitReading(args.min_digits, args.max_digits, args.two_rows)
                 if args.kind == "digits" else Scenes())
    paths = write_caption_set(args.out_dir, generator,
                              {"train": args.train, "valid": args.valid, "test": args.test},
                              args.seed)
    print(" ".join(str(path) for path in paths.values()))


if __name__ == "__main__":
    main()
