"""Image captions: a captions file naming images in a folder.

Two formats, told apart line by line:

- TSV ``image<TAB>caption`` (an optional header line ``image<TAB>caption`` is skipped);
- the Flickr8k token file ``image.jpg#N<TAB>caption`` (``N``: the caption's number; an image has
  several captions).

Image names are relative to the images folder (default: the captions file's folder). Errors name
the file and line: a line without a tab, an empty caption, a missing image, an image that cannot
be decoded (each image is checked once, with Pillow). Nothing is skipped silently.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from seqtasks.data.images import image_problem
from seqtasks.data.parallel import read_lines
from seqtasks.errors import DataError

FLICKR_NAME = re.compile(r"^(?P<image>.+)#\d+$")
HEADER = ("image", "caption")


@dataclasses.dataclass
class Captions:
    images: list[str]  # path of each caption's image (an image repeats once per caption)
    captions: list[str]
    path: str  # the captions file
    lines: list[int]  # line of each caption, for messages

    def __len__(self) -> int:
        return len(self.captions)

    def references(self) -> tuple[list[str], list[list[str]]]:
        """The distinct images in file order, and every caption of each (for BLEU)."""
        grouped: dict[str, list[str]] = {}
        for image, caption in zip(self.images, self.captions):
            grouped.setdefault(image, []).append(caption)
        return list(grouped), list(grouped.values())


def read_captions(path: str | Path, images_dir: str | Path | None = None,
                  check_images: bool = True) -> Captions:
    """Read a TSV or Flickr8k captions file (see the module docstring)."""
    path = Path(path)
    folder = Path(images_dir) if images_dir is not None else path.parent
    if not folder.is_dir():
        raise DataError(folder, "images folder not found", hint="pass it with --images DIR")
    data = Captions([], [], str(path), [])
    checked: dict[Path, str | None] = {}
    for number, line in enumerate(read_lines(path), start=1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if number == 1 and tuple(f.strip().lower() for f in fields[:2]) == HEADER:
            continue
        if len(fields) != 2:
            raise DataError(path, "no tab on this line" if len(fields) < 2 else
                            f"{len(fields)} tab-separated fields, expected 2 (image, caption)",
                            line=number,
                            hint="each line must be image<TAB>caption or image.jpg#N<TAB>caption")
        name, caption = fields[0].strip(), fields[1].strip()
        flickr = FLICKR_NAME.match(name)
        image = folder / (flickr.group("image") if flickr else name)
        if not caption:
            raise DataError(path, f"empty caption for {name}", line=number)
        if check_images:
            if image not in checked:
                checked[image] = (f"image {image} not found" if not image.is_file()
                                  else image_problem(image))
            if checked[image]:
                raise DataError(path, checked[image], line=number,
                                hint=f"image names are relative to {folder} (--images DIR)")
        data.images.append(str(image))
        data.captions.append(caption)
        data.lines.append(number)
    if not data.captions:
        raise DataError(path, "no captions", hint="every line is blank")
    return data
