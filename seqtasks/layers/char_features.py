"""Character-level word features: one vector per word from the word's characters.

    cnn   embedding -> Conv1D -> max over the word's characters (Ma & Hovy, 2016)
    lstm  embedding -> bidirectional LSTM, final states of both directions (Lample et al., 2016)

Input ids come from ``seqtasks.text.token_features`` (the shared ``CharTokenizer`` over each
word); id 0 is padding, both for the characters of a word and for padded words.
"""

from __future__ import annotations

import keras
from keras import ops

from seqtasks.layers.pooling import MaskedMaxPooling
from seqtasks.layers.recurrent import recurrent_layer

CHAR_ENCODERS = ("cnn", "lstm")


@keras.saving.register_keras_serializable(package="seqtasks")
class CharFeatures(keras.layers.Layer):
    """Char ids [batch, words, chars] -> word features [batch, words, output_dim]."""

    def __init__(self, vocab_size: int, embedding_dim: int = 25, units: int = 50,
                 encoder: str = "cnn", kernel_size: int = 3, **kwargs):
        super().__init__(**kwargs)
        if encoder not in CHAR_ENCODERS:
            raise ValueError(f"Unknown char encoder '{encoder}'. "
                             f"Expected one of: {', '.join(CHAR_ENCODERS)}")
        self.vocab_size = vocab_size
        self.embedding_dim = embedding_dim
        self.units = units
        self.encoder = encoder
        self.kernel_size = kernel_size
        self.output_dim = units * (2 if encoder == "lstm" else 1)
        # Layers
        self.embedding = keras.layers.Embedding(vocab_size, embedding_dim, mask_zero=True,
                                                name="char_embedding")
        if encoder == "cnn":
            self.convolution = keras.layers.Conv1D(units, kernel_size, padding="same",
                                                   activation="tanh", name="char_convolution")
            self.pooling = MaskedMaxPooling(name="char_max_pooling")
        else:
            self.lstm = keras.layers.Bidirectional(
                recurrent_layer("lstm", units, return_sequences=False), name="char_bilstm")

    def build(self, input_shape):
        self.embedding.build((None, input_shape[-1]))
        embedded = (None, input_shape[-1], self.embedding_dim)
        if self.encoder == "cnn":
            self.convolution.build(embedded)
        else:
            self.lstm.build(embedded)

    def call(self, char_ids):
        batch, words, chars = ops.shape(char_ids)[0], ops.shape(char_ids)[1], ops.shape(char_ids)[2]
        per_word = ops.reshape(char_ids, (-1, chars))
        mask = ops.not_equal(per_word, 0)
        x = self.embedding(per_word)
        if self.encoder == "cnn":
            # Zero vectors after the word, like the convolution's own padding, so a word's
            # features do not depend on the longest word in its batch.
            x = x * ops.expand_dims(ops.cast(mask, x.dtype), -1)
            x = self.pooling(self.convolution(x), mask=mask)
        else:
            x = self.lstm(x, mask=mask)
        return ops.reshape(x, (batch, words, self.output_dim))

    def compute_output_shape(self, input_shape):
        return (*input_shape[:2], self.output_dim)

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size,
                "embedding_dim": self.embedding_dim, "units": self.units,
                "encoder": self.encoder, "kernel_size": self.kernel_size}
