"""Image captioning exports (kind ``captioner``): images -> captions, greedy or beam search
inside the export."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

from seqtasks.data.images import read_images
from seqtasks.decoding.caps import MAX_BEAM_SIZE
from seqtasks.errors import ConfigError, ModelError
from seqtasks.inference.predictor import DecodingPredictor, one_or_many, text_of


def caption_images(caption: Callable, images: Sequence[bytes], beam_size: int,
                   length_penalty: float, batch_size: int = 64) -> list[str]:
    """Captions through a ``caption`` function (image_bytes, beam_size, length_penalty): an
    export's signature, or the same function before export."""
    import tensorflow as tf

    if not 1 <= beam_size <= MAX_BEAM_SIZE:
        raise ConfigError(f"beam_size must be >= 1 (1: greedy) and <= {MAX_BEAM_SIZE} (the "
                          f"export's cap), got {beam_size}")
    captions: list[str] = []
    for start in range(0, len(images), batch_size):
        result = caption(image_bytes=tf.constant(list(images[start : start + batch_size]),
                                                 tf.string),
                         beam_size=tf.constant(beam_size, tf.int32),
                         length_penalty=tf.constant(length_penalty, tf.float32))
        captions += [text_of(text) for text in result["caption"].numpy()]
    return captions


class CaptionPredictor(DecodingPredictor):
    """Image captioning: images (paths or encoded bytes) -> captions, greedy or beam search
    inside the export."""

    input_column = "image"  # a table's column of image paths
    single_input = (str, Path, bytes, bytearray)  # one image: its path or its encoded bytes
    output_column = "caption"
    IMAGE_BATCH = 64

    @one_or_many
    def caption(self, images, beam_size: int | None = None,
                length_penalty: float | None = None) -> list[str]:
        """Captions of a list/Series of image paths or encoded images (PNG, JPEG, ...);
        ``beam_size`` 1 is greedy (defaults: the model's ``beam_size`` and ``length_penalty``)."""
        config = self.metadata["config"]
        return caption_images(
            self.model.signatures["caption"], read_images(images),
            config["beam_size"] if beam_size is None else beam_size,
            config["length_penalty"] if length_penalty is None else length_penalty,
            self.IMAGE_BATCH)

    @one_or_many
    def attention(self, images, beam_size: int = 1) -> list[dict]:
        """Per image ``{"caption", "output_tokens", "attention"}``: attention [output tokens, grid
        height, grid width], one map per generated word and the final [EOS]."""
        import tensorflow as tf

        if "attention" not in self.model.signatures:
            raise ModelError(f"{self.export_dir}: this model was trained with attention=none, "
                             "so it has no attention maps")
        encoded, rows = read_images(images), []
        for start in range(0, len(encoded), self.IMAGE_BATCH):
            out = {key: value.numpy() for key, value in self.model.signatures["attention"](
                image_bytes=tf.constant(encoded[start : start + self.IMAGE_BATCH], tf.string),
                beam_size=tf.constant(beam_size, tf.int32)).items()}
            for i, n_out in enumerate(out["output_length"]):
                rows.append({"caption": text_of(out["caption"][i]),
                             "output_tokens": [text_of(t) for t in out["output_tokens"][i, :n_out]],
                             "attention": out["attention"][i, :n_out]})
        return rows

    def decode(self, inputs, beam_size: int | None = None) -> list[str]:
        return self.caption(inputs, beam_size)
