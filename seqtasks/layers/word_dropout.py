"""Word dropout: during training, replace token ids by [UNK] at random.

With a vocabulary built from the training data, [UNK] never occurs in training, so its embedding
stays at its random initial value while every unseen word at prediction time maps to it. Dropping
words to [UNK] trains that embedding, and makes the model lean on context and character features
(Lample et al., 2016 replace singletons with p=0.5; a small uniform rate has the same effect).
"""

from __future__ import annotations

import keras
from keras import ops

from seqtasks.text.vocab import PAD_ID, UNK_ID


@keras.saving.register_keras_serializable(package="seqtasks")
class WordDropout(keras.layers.Layer):
    """Token ids [batch, time] -> the same ids, each non-padding one replaced by
    ``replacement_id`` with probability ``rate`` when ``training``."""

    def __init__(self, rate: float, replacement_id: int = UNK_ID, seed: int | None = None,
                 **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"WordDropout rate must be in [0, 1), got {rate}")
        self.rate = rate
        self.replacement_id = replacement_id
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, ids, training=False):
        if not training or not self.rate:
            return ids
        dropped = keras.random.uniform(ops.shape(ids), seed=self.seed_generator) < self.rate
        dropped = ops.logical_and(dropped, ops.not_equal(ids, PAD_ID))
        return ops.where(dropped, ops.cast(self.replacement_id, ids.dtype), ids)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "replacement_id": self.replacement_id,
                "seed": self.seed}
