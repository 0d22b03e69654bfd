"""The serving graph's input tables: an embedding that feeds an LSTM becomes a gather.

``fold_input_tables(model)`` returns the model an export serves: ``model`` itself, or a copy
(sharing its layers and weights) in which each ``Embedding -> [dropout] -> LSTM`` chain becomes
``Identity -> [dropout] -> TableFedLSTM``: the token ids go through to a layer that looks the
LSTM's input products up per word instead of computing them per step, from tables it holds
(``seqtasks.layers.input_table``). Outputs are
the same to float rounding; the export gains the tables' variables, so chains are folded only
while the tables stay within ``INPUT_TABLE_MAX_BYTES`` together (a 50,000-word vocabulary with
a BiLSTM(128) needs 200 MB and keeps the product).

A chain folds when it is the whole use of its embedding: a plain ``keras.layers.Embedding``
called once, whose output reaches, through layers that are the identity at inference (dropout,
noise), exactly one call of a foldable LSTM (``input_table.foldable``) with no state passed in.
Models other than plain functional ones (subclassed, a task's wrappers) are served as they are.
"""

from __future__ import annotations

import keras
from keras.src.models.functional import Functional

from seqtasks.layers.input_table import TableFedLSTM, directions, foldable

# What the tables may add to an export, all together (bytes). A BiLSTM(128) needs 4 KiB per
# word: 16,384 words fit.
INPUT_TABLE_MAX_BYTES = 64 * 2**20
# Layers that return their input unchanged at inference.
INFERENCE_IDENTITY = (keras.layers.Dropout, keras.layers.GaussianNoise,
                      keras.layers.GaussianDropout, keras.layers.AlphaDropout)


def _graph_nodes(model) -> list:
    """The nodes (calls of its layers) that make ``model``'s graph."""
    return [node for nodes in model._nodes_by_depth.values() for node in nodes]


def _consumers(nodes, tensor) -> list:
    """The nodes among ``nodes`` that take ``tensor`` as an argument."""
    return [node for node in nodes if any(t is tensor for t in node.arguments.keras_tensors)]


def _calls(nodes, layer) -> list:
    """The nodes among ``nodes`` that call ``layer`` (a layer may also serve other models)."""
    return [node for node in nodes if node.operation is layer]


def _fed_lstm(nodes, embedding):
    """The LSTM layer of the foldable chain ``embedding`` starts, or None."""
    if type(embedding) is not keras.layers.Embedding:  # noqa: E721 (subclasses compute more)
        return None
    if getattr(embedding, "quantization_mode", None) or getattr(embedding, "lora_enabled", 0):
        return None
    calls = _calls(nodes, embedding)
    if len(calls) != 1:
        return None
    tensor = calls[0].outputs[0]
    while True:
        consumers = _consumers(nodes, tensor)
        if len(consumers) != 1:
            return None
        node = consumers[0]
        layer = node.operation
        if len(_calls(nodes, layer)) != 1 or len(node.arguments.args) != 1 \
                or node.arguments.args[0] is not tensor:
            return None
        if isinstance(layer, INFERENCE_IDENTITY):
            tensor = node.outputs[0]
            continue
        if set(node.arguments.kwargs) - {"mask", "training"} or not foldable(layer):
            return None
        return layer


def fold_input_tables(model, max_bytes: int = INPUT_TABLE_MAX_BYTES):
    """The model to serve: ``model``, or its copy with input tables (see the module doc).

    Chains are taken in the model's layer order while their tables fit in ``max_bytes``.
    """
    if type(model) is not Functional:  # noqa: E721
        return model
    nodes, replaced, budget = _graph_nodes(model), {}, max_bytes
    for layer in model.layers:
        lstm = _fed_lstm(nodes, layer)
        if lstm is None:
            continue
        width = sum(4 * d.cell.units for d in directions(lstm))
        size = layer.input_dim * width * 4
        if size > budget:
            continue
        budget -= size
        replaced[id(layer)] = keras.layers.Identity(name=f"{layer.name}_ids")
        replaced[id(lstm)] = TableFedLSTM(layer, lstm, name=f"{lstm.name}_table_fed")
    if not replaced:
        return model
    # The graph rebuilt on new inputs, as keras.models.clone_model does, but sharing every other
    # layer and without the compile step: the served model never trains, and clone_model would
    # rebuild the optimizer and loss from their configs, which custom ones may not have.
    inputs = keras.tree.map_structure(
        lambda x: keras.Input(batch_shape=x.shape, dtype=x.dtype, name=x.name), model.input)
    outputs = model._run_through_graph(
        inputs, operation_fn=lambda layer: replaced.get(id(layer), layer))
    return Functional(inputs, outputs, name=model.name)


def described(served) -> list[dict]:
    """What an export's ``seqtasks.json`` says of the input tables in ``served``: per table-fed
    layer, the embedding it replaces, the rows and columns of its tables and their bytes."""
    return [{"layer": layer.recurrent.name, "embedding": layer.embedding.name,
             "rows": layer.embedding.input_dim,
             "columns": sum(int(table.shape[1]) for table in layer.tables),
             "bytes": sum(int(table.shape[0]) * int(table.shape[1]) * 4
                          for table in layer.tables)}
            for layer in getattr(served, "layers", []) if isinstance(layer, TableFedLSTM)]
