"""A small CNN that turns an image into a grid of feature vectors for a decoder to attend over.

    image [batch, H, W, 3] in [0, 1]
      -> per width in ``filters``: Conv2D 3x3 -> BatchNorm -> ReLU -> MaxPool 2x2
      -> grid [batch, H / 2^n, W / 2^n, filters[-1]] -> flattened to positions
      (+ a learned embedding per grid cell, so attention can tell places apart)
      -> memory [batch, positions, dim], mask (all True) and summary (the grid's max or mean)

Trained from scratch (no pretrained weights can be fetched). The summary is the global context
vector that initialises the decoder: with ``attention=none`` it is all the decoder sees (the plain
CNN+RNN baseline of Vinyals et al., 2015); with attention the decoder also reads the grid at every
step (Xu et al., 2015).
"""

from __future__ import annotations

import keras
from keras import ops

from seqtasks.errors import ConfigError


def grid_size(height: int, width: int, blocks: int) -> tuple[int, int]:
    """The feature grid of an image after ``blocks`` 2x2 max-pools (each floors)."""
    for _ in range(blocks):
        height, width = height // 2, width // 2
    return height, width


@keras.saving.register_keras_serializable(package="seqtasks")
class GridPositionEmbedding(keras.layers.Layer):
    """Adds a learned vector to each position of a fixed-size [batch, positions, dim] grid."""

    def build(self, input_shape):
        self.embedding = self.add_weight(shape=tuple(input_shape[1:]), initializer="zeros",
                                         name="embedding")

    def call(self, grid):
        return grid + ops.expand_dims(self.embedding, 0)


POOLINGS = {"max": keras.layers.GlobalMaxPooling1D, "mean": keras.layers.GlobalAveragePooling1D}


def image_encoder(images, filters: tuple[int, ...], dropout: float = 0.0,
                  positions: bool = True, global_context: str = "none",
                  seed: int | None = None) -> dict:
    """Symbolic ``{"memory", "mask", "summary"}`` of ``images`` (a ``keras.Input``), the encoder
    outputs ``seqtasks.models.encoder_decoder.attach_decoder`` expects. ``global_context``: how the grid is pooled
    into the summary, ``max`` (small objects on a plain background stand out), ``mean`` (Xu et
    al.) or ``none`` (zeros: the decoder then starts from a learned constant state)."""
    x = images
    for i, width in enumerate(filters):
        x = keras.layers.Conv2D(width, 3, padding="same", use_bias=False, name=f"conv_{i}")(x)
        x = keras.layers.BatchNormalization(momentum=0.9, name=f"batch_norm_{i}")(x)
        x = keras.layers.ReLU(name=f"relu_{i}")(x)
        x = keras.layers.MaxPooling2D(2, name=f"pool_{i}")(x)
    height, width = x.shape[1], x.shape[2]
    grid = keras.layers.Reshape((height * width, filters[-1]), name="grid")(x)
    if global_context not in (*POOLINGS, "none"):
        raise ConfigError(f"Unknown global_context '{global_context}'. Expected one of: "
                          f"{', '.join((*POOLINGS, 'none'))}")
    summary = POOLINGS.get(global_context, POOLINGS["mean"])(name="global_context")(grid)
    if global_context == "none":
        summary = ops.zeros_like(summary)
    if positions:
        grid = GridPositionEmbedding(name="grid_positions")(grid)
    memory = keras.layers.Dropout(dropout, seed=seed, name="grid_dropout")(grid)
    mask = ops.ones_like(memory[..., 0], dtype="bool")
    return {"memory": memory, "mask": mask, "summary": summary}
