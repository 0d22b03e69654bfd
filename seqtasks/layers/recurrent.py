"""The one recurrent-stack builder every task uses.

cell: rnn | lstm | peephole_lstm | gru; optional bidirectional wrapping; ``num_layers`` deep with
dropout between layers; ``return_sequences`` picks many-to-one (final state) or many-to-many.
cuDNN kernels are disabled so the exported graph is a plain While loop that serves on CPU.
"""

from __future__ import annotations

import keras

from seqtasks.config import RecurrentConfig
from seqtasks.errors import ConfigError
from seqtasks.layers.peephole import PeepholeLSTMCell


def _simple_rnn(units, **kwargs):
    return keras.layers.SimpleRNN(units, **kwargs)


def _lstm(units, **kwargs):
    return keras.layers.LSTM(units, use_cudnn=False, **kwargs)


def _gru(units, **kwargs):
    return keras.layers.GRU(units, use_cudnn=False, **kwargs)


def _peephole_lstm(units, recurrent_dropout=0.0, **kwargs):
    if recurrent_dropout:
        raise ConfigError("recurrent_dropout is not supported by cell=peephole_lstm; "
                          "use dropout (between layers) or another cell")
    return keras.layers.RNN(PeepholeLSTMCell(units), **kwargs)


CELLS = {"rnn": _simple_rnn, "lstm": _lstm, "peephole_lstm": _peephole_lstm, "gru": _gru}


def recurrent_layer(cell: str, units: int, return_sequences: bool, return_state: bool = False,
                    recurrent_dropout: float = 0.0, name: str | None = None) -> keras.layers.Layer:
    """One unidirectional recurrent layer of the given cell type."""
    if cell not in CELLS:
        raise ConfigError(f"Unknown cell '{cell}'. Expected one of: {', '.join(CELLS)}")
    return CELLS[cell](units, return_sequences=return_sequences, return_state=return_state,
                       recurrent_dropout=recurrent_dropout, name=name)


def recurrent_stack(x, config: RecurrentConfig, return_sequences: bool, name: str = "encoder"):
    """Apply ``config.num_layers`` (bi)directional layers to ``x`` [batch, time, features].

    Returns [batch, time, units * directions] if ``return_sequences`` else the final state
    [batch, units * directions]. The mask on ``x`` (from ``Embedding(mask_zero=True)``) is
    respected, so padding never reaches the final state.
    """
    if config.num_layers < 1:
        raise ConfigError(f"num_layers must be >= 1, got {config.num_layers}")
    for depth in range(config.num_layers):
        last = depth == config.num_layers - 1
        layer = recurrent_layer(
            config.cell, config.units,
            return_sequences=return_sequences or not last,
            recurrent_dropout=config.recurrent_dropout,
            name=f"{name}_{config.cell}_{depth}",
        )
        if config.bidirectional:
            layer = keras.layers.Bidirectional(layer, name=f"{name}_bi_{depth}")
        x = layer(x)
        if not last and config.dropout:
            x = keras.layers.Dropout(config.dropout, name=f"{name}_dropout_{depth}")(x)
    return x
