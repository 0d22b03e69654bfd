"""An embedding whose matrix also scores the output vocabulary ("weight tying").

Press & Wolf (2017) and Inan et al. (2017): using the input embedding as the output projection
of a language model saves ``vocab x dim`` parameters and lowers perplexity. One layer, called two
ways, as KerasHub's ``ReversibleEmbedding``: ``layer(ids)`` embeds, ``layer(vectors,
reverse=True)`` returns logits ``vectors @ E^T + bias``.
"""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="seqtasks")
class TiedEmbedding(keras.layers.Layer):
    """ids [...] -> vectors [..., output_dim]; with ``reverse=True`` vectors [..., output_dim] ->
    logits [..., input_dim]."""

    def __init__(self, input_dim: int, output_dim: int, **kwargs):
        super().__init__(**kwargs)
        self.input_dim = input_dim
        self.output_dim = output_dim
        self.supports_masking = True  # a padding mask on the vectors passes on to the logits

    def build(self, input_shape=None):
        self.embeddings = self.add_weight(shape=(self.input_dim, self.output_dim),
                                          initializer="uniform", name="embeddings")
        self.output_bias = self.add_weight(shape=(self.input_dim,), initializer="zeros",
                                           name="output_bias")

    def call(self, inputs, reverse=False):
        if reverse:
            return ops.matmul(inputs, ops.transpose(self.embeddings)) + self.output_bias
        return ops.take(self.embeddings, ops.cast(inputs, "int32"), axis=0)

    def compute_output_spec(self, inputs, reverse=False):
        if reverse:
            return keras.KerasTensor((*inputs.shape[:-1], self.input_dim),
                                     dtype=self.compute_dtype)
        return keras.KerasTensor((*inputs.shape, self.output_dim), dtype=self.compute_dtype)

    def get_config(self):
        return {**super().get_config(), "input_dim": self.input_dim,
                "output_dim": self.output_dim}
