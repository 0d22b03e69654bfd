"""Gradient flow through time: ``||dloss/dh_t||`` for every time step ``t`` of a recurrent layer.

``h_t`` is the layer's hidden state after step ``t``; the derivative is the total one, through
every later step, so the curve shows how much the loss still reaches back to step ``t``
(vanishing: it decays towards early steps; exploding: it grows). To get hold of every ``h_t``,
the layer's ``call`` is swapped, for one forward pass, for a Python loop over its own cell that
keeps each state it produces; the rest of the model runs unchanged, so this works for any model
holding a Keras recurrent layer (functional, nested, ``Bidirectional``: its forward half).
"""

from __future__ import annotations

import contextlib
import dataclasses
from pathlib import Path
from typing import Any, Callable

import keras
import numpy as np
from keras import ops

from seqtasks.errors import ModelError


def recurrent_layers(model) -> list[keras.layers.RNN]:
    """The recurrent layers of ``model`` in build order (a Bidirectional's forward half)."""
    found, seen = [], set()

    def walk(layer):
        if id(layer) in seen:
            return
        seen.add(id(layer))
        if isinstance(layer, keras.layers.Bidirectional):
            return walk(layer.forward_layer)
        if isinstance(layer, keras.layers.RNN):
            return found.append(layer)
        for child in getattr(layer, "layers", None) or getattr(layer, "_layers", []):
            walk(child)

    walk(model)
    return found


@contextlib.contextmanager
def recording_states(layer: keras.layers.RNN, states: list):
    """While active, ``layer`` runs step by step and appends its hidden state ``h_t`` of every
    step, in time order, to ``states`` (masked steps keep the previous state, as Keras does)."""
    cell = layer.cell

    def call(sequences, initial_state=None, mask=None, training=False):
        steps = int(sequences.shape[1])
        if initial_state is None:
            initial_state = layer.get_initial_state(ops.shape(sequences)[0])
        state = list(initial_state) if isinstance(initial_state, (list, tuple)) \
            else [initial_state]
        order = range(steps - 1, -1, -1) if layer.go_backwards else range(steps)
        outputs = [None] * steps
        for t in order:
            _, new = cell(sequences[:, t], state, training=training)
            new = list(new) if isinstance(new, (list, tuple)) else [new]
            if mask is not None:
                keep = ops.expand_dims(mask[:, t], -1)
                new = [ops.where(keep, n, s) for n, s in zip(new, state)]
            state = new
            outputs[t] = state[0]  # the cell's output is its hidden state h_t
        states.extend(outputs)
        ordered = outputs[::-1] if layer.go_backwards else outputs
        result = ops.stack(ordered, axis=1) if layer.return_sequences else state[0]
        return [result, *state] if layer.return_state else result

    layer.call = call  # this instance only; Layer.__call__ looks the method up on every call
    try:
        yield states
    finally:
        del layer.call


def state_gradient_norms(model, inputs, loss_fn: Callable, layer=None) -> np.ndarray:
    """Mean over the batch of ``||dloss/dh_t||`` for each time step of ``layer`` (default: the
    model's first recurrent layer). ``loss_fn(outputs)`` -> scalar loss of ``model(inputs)``."""
    import tensorflow as tf  # a gradient tape; Keras has no backend-neutral one

    if layer is None:
        layers = recurrent_layers(model)
        if not layers:
            raise ModelError(f"model '{model.name}' has no recurrent layer to diagnose")
        layer = layers[0]
    states: list = []
    with recording_states(layer, states), tf.GradientTape() as tape:
        loss = loss_fn(model(inputs, training=False))
    grads = tape.gradient(loss, states)
    norms = [np.zeros(()) if g is None else np.mean(np.linalg.norm(g.numpy(), axis=-1))
             for g in grads]
    return np.array(norms, dtype=np.float64)


def restore_weights(model, export_dir: str | Path) -> None:
    """Load an export's trained weights into ``model`` (rebuilt from the same config), matched
    by variable path; the export keeps Keras' paths as its variable names."""
    import tensorflow as tf

    saved = {v.name.removesuffix(":0"): v for v in tf.saved_model.load(str(export_dir)).variables}
    missing = [v.path for v in model.weights if v.path not in saved]
    if missing:
        raise ModelError(f"{export_dir}: the export has no weights for {', '.join(missing[:3])} "
                         "(was it trained with another version of this pipeline?)")
    for variable in model.weights:
        variable.assign(saved[variable.path].numpy())


@dataclasses.dataclass
class GradientProbe:
    """What ``seqtasks diagnose DIR`` needs from a pipeline: ``build()`` -> a fresh model (at
    initialisation) of the export's architecture, a batch of ``inputs`` and ``loss(outputs)``."""

    build: Callable[[], keras.Model]
    inputs: Any
    loss: Callable
    positions: str = "token position t"


def flow_before_and_after(probe: GradientProbe, export_dir: str | Path, seed: int = 0
                          ) -> dict[str, np.ndarray]:
    """``||dloss/dh_t||`` of the export's model with fresh weights and with its trained ones."""
    keras.utils.set_random_seed(seed)
    model = probe.build()
    init = state_gradient_norms(model, probe.inputs, probe.loss)
    restore_weights(model, export_dir)
    return {"initialisation": init, "trained": state_gradient_norms(model, probe.inputs,
                                                                   probe.loss)}


def flow_png(curves: dict[str, np.ndarray], path: str | Path, title: str,
             xlabel: str = "time step t") -> Path:
    from seqtasks.evaluation.plots import Panel, line_panels_png

    lines = [(name, range(1, len(v) + 1), v, "-" if name == "trained" else ":")
             for name, v in curves.items()]
    return line_panels_png([Panel(title, xlabel, "||dloss/dh_t|| (batch mean)", lines,
                                  log_y=True)], path)


def diagnose_export(task, export_dir: str | Path, data_path, out: str | Path,
                    batch_size: int = 16) -> Path:
    """``seqtasks diagnose DIR``: the gradient-flow plot of an export, trained vs initialised.
    ``task``: the export's ``Task``, one that offers ``gradient_probe``
    (``seqtasks.task.capabilities.ProbesGradients``); ``data_path``: default the
    validation data the export was scored on."""
    from seqtasks.export.layout import read_metadata

    metadata = read_metadata(export_dir)
    data_path = data_path or metadata.get("metrics", {}).get("data")
    probe = task.gradient_probe(export_dir, data_path, batch_size)
    curves = flow_before_and_after(probe, export_dir, metadata["config"].get("seed", 0))
    config = metadata["config"]
    title = (f"{metadata['task']}: {config.get('cell')} x {config.get('num_layers')}, "
             "first recurrent layer")
    return flow_png(curves, out, title, probe.positions)
