"""A recurrent decoder that emits tokens one step at a time, attending over a memory.

The memory is anything of shape [batch, positions, dim] with a mask [batch, positions]: the states
of a text encoder (translation) or a CNN feature grid (image captioning). ``summary`` [batch, d]
(e.g. the encoder's final states) sets the decoder's initial state through a tanh layer. Per step,
by ``attention``:

    none:      h_t = cell(E y_{t-1}, h_{t-1});  logits = W h_t       (Sutskever et al., 2014)
    bahdanau:  c_t = attend(h_{t-1});  h_t = cell([E y_{t-1}; c_t], h_{t-1});
               o_t = tanh(W_o [h_t; c_t]);  logits = W o_t             (Bahdanau et al., 2015)
    luong_*:   h_t = cell([E y_{t-1}; o_{t-1}], h_{t-1});  c_t = attend(h_t);
               o_t = tanh(W_o [h_t; c_t]);  logits = W o_t   (Luong et al., 2015, input feeding)

``call`` runs the whole target sequence for training: teacher forcing, or with
``scheduled_sampling`` the model's own previous prediction (argmax) replaces the gold token with
probability ``sampling_probability`` (a variable that a training callback raises; Bengio et al.,
2015). ``initial_state`` and ``step`` are the same computation one token at a time, for decoding
loops (``seqtasks.decoding``): the state is a dict of batch-major tensors, memory included, so a
beam search can reorder it row by row.
"""

from __future__ import annotations

import keras
from keras import ops

from seqtasks.errors import ConfigError
from seqtasks.layers.attention import make_attention
from seqtasks.layers.peephole import PeepholeLSTMCell
from seqtasks.layers.recurrent import STATES_PER_LAYER
from seqtasks.text.vocab import PAD_ID

CELL_CLASSES = {"rnn": keras.layers.SimpleRNNCell, "lstm": keras.layers.LSTMCell,
                "peephole_lstm": PeepholeLSTMCell, "gru": keras.layers.GRUCell}
MEMORY_KEYS = ("memory", "prepared", "mask")


@keras.saving.register_keras_serializable(package="seqtasks")
class AttentionDecoder(keras.layers.Layer):
    """See the module docstring; ``units`` is the cell's width, ``attention`` a name of
    ``seqtasks.layers.attention.ATTENTION_CHOICES``."""

    def __init__(self, vocab_size: int, embedding_dim: int = 128, cell: str = "gru",
                 units: int = 256, attention: str = "bahdanau", attention_units: int = 128,
                 dropout: float = 0.0, scheduled_sampling: bool = False, seed: int | None = None,
                 attention_penalty: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        if cell not in CELL_CLASSES:
            raise ConfigError(f"Unknown cell '{cell}'. Expected one of: "
                              f"{', '.join(CELL_CLASSES)}")
        self.vocab_size, self.embedding_dim, self.cell_name = vocab_size, embedding_dim, cell
        self.units, self.attention_name, self.attention_units = units, attention, attention_units
        self.dropout_rate, self.scheduled_sampling, self.seed = dropout, scheduled_sampling, seed
        if attention_penalty < 0 or (attention_penalty and attention == "none"):
            raise ConfigError(f"attention_penalty must be >= 0 and needs attention, got "
                              f"{attention_penalty} with attention={attention}")
        self.attention_penalty = attention_penalty
        self.embedding = keras.layers.Embedding(vocab_size, embedding_dim, name="embedding")
        self.cell = CELL_CLASSES[cell](units, name=f"{cell}_cell")
        self.attention = make_attention(attention, attention_units)
        self.bridge = [keras.layers.Dense(units, activation="tanh", name=f"bridge_{i}")
                       for i in range(STATES_PER_LAYER[cell])]
        self.combine = None if self.attention is None else keras.layers.Dense(
            units, activation="tanh", use_bias=False, name="combine")
        self.dropout = keras.layers.Dropout(dropout, seed=seed, name="dropout")
        self.projection = keras.layers.Dense(vocab_size, name="projection")
        self.seed_generator = keras.random.SeedGenerator(seed)

    @property
    def input_feeding(self) -> bool:
        return self.attention_name.startswith("luong")

    def build(self, target_ids_shape, memory_shape, summary_shape):
        batch = target_ids_shape[0]
        memory_dim = memory_shape[-1]
        cell_input = self.embedding_dim + (memory_dim if self.attention_name == "bahdanau" else 0)
        cell_input += self.units if self.input_feeding else 0
        self.embedding.build((batch, None))
        self.cell.build((batch, cell_input))
        if self.attention is not None:
            self.attention.build((batch, self.units), memory_shape)
            self.combine.build((batch, self.units + memory_dim))
        for layer in self.bridge:
            layer.build(summary_shape)
        self.projection.build((batch, self.units))
        self.sampling_probability = self.add_weight(
            shape=(), initializer="zeros", trainable=False, name="sampling_probability")

    # --- one step at a time (decoding) ---------------------------------------------------------

    def initial_state(self, summary, memory, memory_mask=None) -> dict:
        state = {"cell": [layer(summary) for layer in self.bridge]}
        if self.attention is not None:
            if memory_mask is None:
                memory_mask = ops.ones(ops.shape(memory)[:2], dtype="bool")
            state.update(memory=memory, prepared=self.attention.prepare(memory),
                         mask=ops.cast(memory_mask, "bool"))
        if self.input_feeding:
            state["attentional"] = ops.zeros_like(state["cell"][0])
        return state

    def step(self, token_ids, state: dict):
        """Feed one token per row: (logits [batch, vocab], next state)."""
        features, state, _ = self._advance(self.embedding(token_ids), state, training=False)
        return self.projection(features), state

    def _advance(self, embedded, state: dict, training):
        """One step from embedded input tokens -> (o_t, next state, attention weights | None)."""
        embedded = self.dropout(embedded, training=training)
        cells, weights = state["cell"], None
        if self.attention is None:
            features, cells = self.cell(embedded, cells, training=training)
            return features, {**state, "cell": list(cells)}, None
        memory = (state["memory"], state["mask"], state["prepared"])
        if self.input_feeding:
            hidden, cells = self.cell(ops.concatenate([embedded, state["attentional"]], -1), cells,
                                      training=training)
            context, weights = self.attention(hidden, memory[0], mask=memory[1],
                                              prepared=memory[2])
        else:
            context, weights = self.attention(cells[0], memory[0], mask=memory[1],
                                              prepared=memory[2])
            hidden, cells = self.cell(ops.concatenate([embedded, context], -1), cells,
                                      training=training)
        features = self.combine(ops.concatenate([hidden, context], -1))
        state = {**state, "cell": list(cells)}
        if self.input_feeding:
            state["attentional"] = features
        return features, state, weights

    # --- a whole target sequence (training, attention maps) ------------------------------------

    def call(self, target_ids, memory, summary, memory_mask=None, training=False):
        """Decoder inputs [batch, time] (``[BOS] y1 .. yn``) -> logits [batch, time, vocab]."""
        outputs = self.unroll(target_ids, memory, summary, memory_mask, training)
        if training and self.attention_penalty:
            self.add_loss(self.attention_penalty * coverage_penalty(
                outputs["weights"], ops.not_equal(ops.cast(target_ids, "int32"), PAD_ID),
                memory_mask))
        if "logits" in outputs:
            return outputs["logits"]
        return self.projection(self.dropout(outputs["features"], training=training))

    def attention_weights(self, target_ids, memory, summary, memory_mask=None):
        """Teacher-forced attention weights [batch, time, positions] (the decoder must attend)."""
        return self.unroll(target_ids, memory, summary, memory_mask, training=False)["weights"]

    def unroll(self, target_ids, memory, summary, memory_mask=None, training=False) -> dict:
        """Batch-major ``features`` [b, t, units], ``weights`` [b, t, positions] (with attention),
        ``logits`` [b, t, vocab] (only while sampling, which needs them step by step)."""
        target_ids = ops.cast(target_ids, "int32")
        state = self.initial_state(summary, memory, memory_mask)
        constants = {key: state.pop(key) for key in MEMORY_KEYS if key in state}
        sampling = bool(training) and self.scheduled_sampling
        batch, time = ops.shape(target_ids)[0], ops.shape(target_ids)[1]
        use_own = ops.zeros((batch, time), dtype="bool")
        if sampling:  # never at step 0, which reads [BOS]
            draws = keras.random.uniform((batch, time), seed=self.seed_generator)
            first = ops.expand_dims(ops.arange(time) == 0, 0)
            use_own = ops.logical_and(draws < self.sampling_probability, ops.logical_not(first))

        carry = {"state": state, "features": ops.zeros((batch, self.units), memory.dtype)}
        if self.attention is not None:
            carry["weights"] = ops.zeros_like(constants["prepared"][..., 0])
        if sampling:
            carry["logits"] = ops.zeros((batch, self.vocab_size), memory.dtype)

        def step(carry, inputs):
            gold, own = inputs[:, 0], ops.cast(inputs[:, 1], "bool")
            if sampling:
                gold = ops.where(own, ops.cast(ops.argmax(carry["logits"], -1), "int32"), gold)
            features, state, weights = self._advance(
                self.embedding(gold), {**carry["state"], **constants}, training)
            new = {"state": {k: v for k, v in state.items() if k not in MEMORY_KEYS},
                   "features": features}
            if weights is not None:
                new["weights"] = weights
            if sampling:
                new["logits"] = self.projection(self.dropout(features, training=training))
            return new, new  # Keras' TF scan needs outputs shaped like the carry

        # One input tensor [time, batch, 2]: Keras' TF scan fails on several with unknown time.
        inputs = ops.stack([target_ids, ops.cast(use_own, "int32")], axis=-1)
        _, stacked = ops.scan(step, carry, ops.transpose(inputs, (1, 0, 2)))
        return {key: ops.swapaxes(value, 0, 1) for key, value in stacked.items()
                if key != "state"}

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size,
                "embedding_dim": self.embedding_dim, "cell": self.cell_name, "units": self.units,
                "attention": self.attention_name, "attention_units": self.attention_units,
                "dropout": self.dropout_rate, "scheduled_sampling": self.scheduled_sampling,
                "seed": self.seed, "attention_penalty": self.attention_penalty}


def coverage_penalty(weights, step_mask, memory_mask=None):
    """The doubly stochastic attention penalty of Xu et al. (2015), ``sum_p (1 - sum_t a_tp)^2``
    averaged over the batch: attention weights [batch, time, positions] summed over the real
    steps (``step_mask`` [batch, time]) should give every real position (``memory_mask``) a total
    of about 1, so that the decoder looks at every part of the input at some step."""
    totals = ops.sum(weights * ops.cast(ops.expand_dims(step_mask, -1), weights.dtype), axis=1)
    missing = ops.square(1.0 - totals)
    if memory_mask is not None:
        missing = missing * ops.cast(memory_mask, missing.dtype)
    return ops.mean(ops.sum(missing, axis=-1))
