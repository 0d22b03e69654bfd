"""The one recurrent-stack builder every task uses.

cell: rnn | lstm | peephole_lstm | gru; optional bidirectional wrapping; ``num_layers`` deep with
dropout between layers; ``return_sequences`` picks many-to-one (final state) or many-to-many.
The layers (``projected_rnn``) multiply the inputs of all steps by the kernel before the loop; cuDNN
kernels are disabled so the exported graph is a plain While loop that serves on CPU.
``rnn_kernel`` picks how the time loop runs: ``keras`` (those layers: TensorFlow differentiates
their loops), ``fused`` (``FusedLSTM`` / ``FusedGRU``: the projected loop with its own, hoisted
backward pass; cell=lstm or gru) or ``auto`` (``AUTO_KERNELS``). Both keep Keras' weight layout,
so a checkpoint loads into either. Unidirectional stacks can also start from
given states and return their final states (language models carry them across windows and
decode step by step).
"""

from __future__ import annotations

import keras

from seqtasks.config import RNN_KERNELS, RecurrentConfig
from seqtasks.errors import ConfigError
from seqtasks.layers.fused_rnn import FusedGRU, FusedLSTM
from seqtasks.layers.projected_rnn import (ProjectedGRU, ProjectedLSTM, ProjectedPeepholeLSTM,
                                           ProjectedSimpleRNN)


def _peephole_lstm(units, recurrent_dropout=0.0, **kwargs):
    if recurrent_dropout:
        raise ConfigError("recurrent_dropout is not supported by cell=peephole_lstm; "
                          "use dropout (between layers) or another cell")
    return ProjectedPeepholeLSTM(units, **kwargs)


CELLS = {"rnn": ProjectedSimpleRNN, "lstm": ProjectedLSTM, "peephole_lstm": _peephole_lstm,
         "gru": ProjectedGRU}
FUSED_CELLS = {"lstm": FusedLSTM, "gru": FusedGRU}
# What auto picks where it is not keras. Measured (bench/results/lm-throughput.json,
# inference-throughput.json): the fused kernels (their own backward pass) train both LM shapes
# faster than the keras loops, and the BiLSTM export serves 1.12x faster on them; rnn and
# peephole_lstm have only the keras loop.
AUTO_KERNELS: dict[str, str] = {"lstm": "fused", "gru": "fused"}
STATES_PER_LAYER = {"rnn": 1, "lstm": 2, "peephole_lstm": 2, "gru": 1}  # [h] or [h, c]


def recurrent_layer(cell: str, units: int, return_sequences: bool, return_state: bool = False,
                    recurrent_dropout: float = 0.0, name: str | None = None,
                    kernel: str = "auto") -> keras.layers.Layer:
    """One unidirectional recurrent layer of the given cell type, on the given ``kernel``."""
    if cell not in CELLS:
        raise ConfigError(f"Unknown cell '{cell}'. Expected one of: {', '.join(CELLS)}")
    if kernel not in RNN_KERNELS:
        raise ConfigError(f"Unknown rnn_kernel '{kernel}'. Expected one of: "
                          f"{', '.join(RNN_KERNELS)}")
    if kernel == "auto":
        kernel = AUTO_KERNELS.get(cell, "keras")
    if kernel == "fused" and cell not in FUSED_CELLS:
        raise ConfigError(f"rnn_kernel=fused exists for cell={', '.join(FUSED_CELLS)} only, not "
                          f"cell={cell}; use rnn_kernel=auto or keras")
    layer_class = FUSED_CELLS[cell] if kernel == "fused" else CELLS[cell]
    return layer_class(units, return_sequences=return_sequences, return_state=return_state,
                       recurrent_dropout=recurrent_dropout, name=name)


def state_sizes(config: RecurrentConfig) -> list[int]:
    """Sizes of the flat state list of a unidirectional stack: per layer [h] or [h, c]."""
    return [config.units] * (STATES_PER_LAYER[config.cell] * config.num_layers)


def recurrent_stack(x, config: RecurrentConfig, return_sequences: bool, name: str = "encoder",
                    initial_state: list | None = None, return_state: bool = False, mask=None):
    """Apply ``config.num_layers`` (bi)directional layers to ``x`` [batch, time, features].

    Returns [batch, time, units * directions] if ``return_sequences`` else the final state
    [batch, units * directions]. The mask on ``x`` (from ``Embedding(mask_zero=True)``) is
    respected, so padding never reaches the final state.

    Unidirectional stacks only: ``initial_state`` (a flat list laid out as ``state_sizes``)
    starts each layer from the given states instead of zeros, and ``return_state`` makes the
    result ``(outputs, final_states)`` with ``final_states`` in the same layout. Pass the
    padding ``mask`` [batch, time] explicitly with ``initial_state``: Keras hands a layer the
    mask of its input only when the input is its one tensor argument.
    """
    if config.num_layers < 1:
        raise ConfigError(f"num_layers must be >= 1, got {config.num_layers}")
    with_states = return_state or initial_state is not None
    if with_states and config.bidirectional:
        raise ConfigError("carrying recurrent state needs a unidirectional stack; "
                          "set bidirectional=false")
    per_layer = STATES_PER_LAYER.get(config.cell, 0)
    final_states = []
    for depth in range(config.num_layers):
        last = depth == config.num_layers - 1
        layer = recurrent_layer(
            config.cell, config.units,
            return_sequences=return_sequences or not last,
            return_state=with_states,
            recurrent_dropout=config.recurrent_dropout,
            name=f"{name}_{config.cell}_{depth}", kernel=config.rnn_kernel,
        )
        if config.bidirectional:
            layer = keras.layers.Bidirectional(layer, name=f"{name}_bi_{depth}")
        if with_states:
            layer_state = initial_state[depth * per_layer:(depth + 1) * per_layer] \
                if initial_state is not None else None
            x, *states = layer(x, initial_state=layer_state, mask=mask)
            final_states += states
        else:
            x = layer(x) if mask is None else layer(x, mask=mask)
        if not last and config.dropout:
            x = keras.layers.Dropout(config.dropout, name=f"{name}_dropout_{depth}")(x)
    return (x, final_states) if return_state else x
