"""An LSTM fed from an embedding through a precomputed input table, for serving.

An LSTM whose input is an embedding row multiplies every step's row by its input kernel:
``E[id] @ kernel + bias``. For a fixed vocabulary that product has one value per word, so an
export can compute ``E @ kernel + bias`` once (the *input table*, one row per word, 4 units wide
per direction) and gather from it: each step then costs a row copy instead of a product. At the
BiLSTM(128) serving shape (batch 256 x 30 words, embedding 128) the input product with its
gather and bias took 11.7 ms per direction and batch on one thread, the table gather 1.6 ms.
The table holds vocabulary x 4 units floats per direction, which is why an export folds it only
within a size budget (``seqtasks.export.input_tables``).

``input_table`` computes the table; ``TableFedLSTM`` takes the token ids and runs the recurrent
layer (a ``FusedLSTM`` or a ``Bidirectional`` of them) on its tables' rows with the layer's own
recurrent weights, giving what the layer gives on the embeddings (outputs, masks,
``merge_mode``, ``return_sequences``) to float rounding. Stock TensorFlow ops only: ``GatherV2``
and the loop of ``seqtasks.layers.fused_rnn``.
"""

from __future__ import annotations

import keras
import numpy as np
# Imported when first used, as Keras does: the layer module loads under any backend.
from keras.src.utils.module_utils import tensorflow as tf

from seqtasks.layers.fused_rnn import FusedLSTM, _masked_loop, _regroup_gates

# The loop's gate order (fused_rnn._lstm_forward); Keras' is i, f, c, o.
LOOP_GATE_ORDER = "ifoc"
MERGE_MODES = ("concat", "sum", "ave", "mul")
# Smaller batches run the layer on the embeddings instead: BlockLSTM (TableFedLSTM). Measured
# on the BiLSTM(128), sentences/s embeddings / tables at 1 thread: 867 / 650 at 1 row, 3,113 /
# 3,256 at 8, 3,414 / 4,282 at 16; at 2 threads 1,972 / 2,300 at 4, 2,362 / 3,564 at 8
# (bench/results/serving-input-table.json, "sentences_per_second").
TABLE_MIN_BATCH = 8


def directions(layer) -> list:
    """The ``FusedLSTM`` layers a recurrent layer runs, in the order of its output's parts."""
    if isinstance(layer, keras.layers.Bidirectional):
        return [layer.forward_layer, layer.backward_layer]
    return [layer]


def foldable(layer) -> bool:
    """True when ``TableFedLSTM`` reproduces ``layer``'s inference: a ``FusedLSTM`` (or a
    ``Bidirectional`` of two) with tanh / sigmoid, float32, no state in or out."""
    if isinstance(layer, keras.layers.Bidirectional) and layer.merge_mode not in MERGE_MODES:
        return False
    return all(type(d) is FusedLSTM  # noqa: E721 (a subclass may compute something else)
               and isinstance(d.cell, keras.layers.LSTMCell)
               and d.cell.activation is keras.activations.tanh
               and d.cell.recurrent_activation is keras.activations.sigmoid
               and not d.return_state and not d.stateful
               and d.compute_dtype == "float32" and d.built
               for d in directions(layer))


def input_table(embeddings: np.ndarray, layer) -> np.ndarray:
    """``embeddings`` [vocabulary, features] -> [vocabulary, directions x 4 units] float32: per
    direction of ``layer``, ``embeddings @ kernel + bias`` with its gates in the loop's order."""
    parts = []
    for direction in directions(layer):
        cell = direction.cell
        kernel = np.asarray(keras.ops.convert_to_numpy(cell.kernel), np.float64)
        product = np.asarray(embeddings, np.float64) @ kernel
        if cell.use_bias:
            product += np.asarray(keras.ops.convert_to_numpy(cell.bias), np.float64)
        parts.append(np.asarray(_regroup_gates(product, LOOP_GATE_ORDER)))
    return np.concatenate(parts, axis=-1).astype(np.float32)


class TableFedLSTM(keras.layers.Layer):
    """``recurrent`` (a ``FusedLSTM`` or a ``Bidirectional`` of them) on ``embedding``'s rows,
    from token ids [batch, time]: the outputs and output mask ``recurrent`` gives on the
    embeddings, its input products gathered from input tables (``input_table``). Inference only.

    Batches of fewer than ``TABLE_MIN_BATCH`` rows run ``recurrent`` on the embeddings instead:
    right-padded, they take ``BlockLSTM``, whose one op per direction
    (``seqtasks.layers.right_padded_lstm``) beats the loop even without its input products.
    The layer shares ``embedding``'s and ``recurrent``'s variables and adds the tables.
    """

    def __init__(self, embedding, recurrent, **kwargs):
        super().__init__(**kwargs)
        if not foldable(recurrent):
            raise ValueError(f"{recurrent.name}: not an LSTM an input table can feed")
        self.embedding = embedding
        self.recurrent = recurrent
        self.supports_masking = True
        self.tables = [self.add_weight(shape=(embedding.input_dim, 4 * layer.cell.units),
                                       initializer="zeros", trainable=False,
                                       name=f"{layer.name}_input_table")
                       for layer in directions(recurrent)]
        rows = input_table(keras.ops.convert_to_numpy(embedding.embeddings), recurrent)
        for table, part in zip(self.tables, np.split(rows, len(self.tables), axis=-1)):
            table.assign(part)

    def build(self, input_shape):
        self.built = True

    def call(self, token_ids, mask=None):
        # A small batch goes to the layer itself, which picks BlockLSTM for right padding.
        small = tf.shape(token_ids)[0] < TABLE_MIN_BATCH
        return tf.cond(small, lambda: self.recurrent(self.embedding(token_ids), mask=mask),
                       lambda: self._from_tables(token_ids, mask))

    def _from_tables(self, token_ids, mask):
        outputs = []
        for table, layer in zip(self.tables, directions(self.recurrent)):
            zeros = tf.zeros([tf.shape(token_ids)[0], layer.cell.units], table.dtype)
            last, sequence, _ = _masked_loop(
                layer.cell, token_ids, [zeros, zeros], mask, go_backwards=layer.go_backwards,
                zero_output_for_mask=layer.zero_output_for_mask,
                return_sequences=layer.return_sequences, training=False,
                input_table=tf.convert_to_tensor(table))
            outputs.append(sequence if layer.return_sequences else last)
        if len(outputs) == 1:
            return outputs[0]
        forward, backward = outputs
        if self.recurrent.return_sequences:  # as Bidirectional shows the backward direction
            backward = tf.reverse(backward, axis=[1])
        merge = self.recurrent.merge_mode
        if merge == "concat":
            return tf.concat([forward, backward], axis=-1)
        if merge == "sum":
            return forward + backward
        if merge == "ave":
            return (forward + backward) / 2
        return forward * backward  # "mul"

    def compute_mask(self, inputs, mask=None):
        return mask if self.recurrent.return_sequences else None

    def compute_output_shape(self, input_shape):
        return self.recurrent.compute_output_shape(
            tuple(input_shape) + (self.embedding.output_dim,))
