"""Images for captioning: which files are images, a cheap readability check, reading paths or
bytes into encoded images, and the in-graph decoder that training input and the exported graph
share (encoded bytes in, floats out)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from seqtasks.errors import DataError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp")
DECODABLE_FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP")  # what tf.io.decode_image reads


def list_images(folder: str | Path) -> list[Path]:
    """The image files directly in ``folder`` (by extension), sorted by name."""
    return sorted(path for path in Path(folder).iterdir()
                  if path.is_file() and path.suffix.lower() in IMAGE_EXTENSIONS)


def image_problem(path: Path) -> str | None:
    """Why ``path`` cannot be decoded in the graph, or None when it can (checked with Pillow,
    which reads the header and verifies the file without decoding all of it)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image_format = image.format
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        return f"unreadable image {path} ({e})"
    if image_format not in DECODABLE_FORMATS:
        return (f"image {path} is {image_format}, which TensorFlow cannot decode "
                f"(use one of: {', '.join(DECODABLE_FORMATS)})")
    return None


def decode_images(encoded, height: int, width: int):
    """Encoded image bytes (PNG, JPEG, GIF, BMP, WebP) string [batch] -> float32 [batch, height,
    width, 3] in [0, 1]: decoded as RGB (grey images are repeated, alpha is dropped), resized
    with antialiasing. Graph ops only, so it runs in tf.data and inside exported signatures."""
    import tensorflow as tf

    def one(data):
        image = tf.io.decode_image(data, channels=3, expand_animations=False)
        image = tf.image.convert_image_dtype(image, tf.float32)
        return tf.image.resize(image, [height, width], antialias=True)

    return tf.map_fn(one, encoded, fn_output_signature=tf.TensorSpec([height, width, 3],
                                                                      tf.float32))


def read_images(inputs) -> list[bytes]:
    """Image paths (str / Path) and encoded images (bytes) -> encoded images."""
    if isinstance(inputs, (str, bytes, Path)):
        raise DataError("input", f"expected a list of images, got a single "
                        f"{type(inputs).__name__}", hint="wrap it in a list: caption([image])")
    if isinstance(inputs, pd.Series):
        inputs = inputs.tolist()
    images = []
    for i, item in enumerate(inputs):
        if isinstance(item, (bytes, bytearray)):
            images.append(bytes(item))
        elif isinstance(item, (str, Path)):
            try:
                images.append(Path(item).read_bytes())
            except OSError as e:
                raise DataError(item, f"cannot read image {i} ({e.strerror})") from None
            problem = image_problem(Path(item))  # before TensorFlow fails on it, nameless
            if problem:
                raise DataError(item, problem, hint="remove it or replace it with a PNG, JPEG, "
                                "GIF, BMP or WebP image")
        else:
            raise DataError("input", f"item {i} is {type(item).__name__}, expected an image "
                            "path (str) or encoded image bytes")
    return images
