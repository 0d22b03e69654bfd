"""Linear-chain conditional random field (Lafferty et al., 2001; Lample et al., 2016) in keras.ops.

The layer maps features to unary potentials ``U[t, tag]`` and owns the pairwise scores: a path
``y`` scores ``start[y_0] + sum_t U[t, y_t] + sum_t A[y_{t-1}, y_t] + end[y_last]``. Training
minimises ``log Z - score(gold)`` with Z summed by the forward algorithm (logsumexp); prediction
is the Viterbi path. Transitions a tag scheme forbids (``I-PER`` after ``O`` in IOB2) get a score
of -1e9, so no decoded path breaks the scheme and training never wastes mass on them.

Masks are [batch, time] booleans, true on a prefix of each row (the real tokens); time >= 1.
"""

from __future__ import annotations

import keras
from keras import ops

FORBIDDEN = -1e9


@keras.saving.register_keras_serializable(package="seqtasks")
class CRF(keras.layers.Layer):
    """Features [batch, time, dim] -> potentials [batch, time, num_tags]; see module docstring.

    ``allowed_starts`` [num_tags], ``allowed_transitions`` [from][to] and ``allowed_ends``
    [num_tags] are booleans (e.g. from ``seqtasks.text.tag_schemes.allowed_transitions``); None allows
    everything. Compile with ``loss=crf.loss`` and targets padded with -1; decode with ``decode``.
    """

    def __init__(self, num_tags: int, allowed_starts: list[bool] | None = None,
                 allowed_transitions: list[list[bool]] | None = None,
                 allowed_ends: list[bool] | None = None, **kwargs):
        super().__init__(**kwargs)
        self.num_tags = num_tags
        self.allowed_starts = allowed_starts
        self.allowed_transitions = allowed_transitions
        self.allowed_ends = allowed_ends

    def build(self, input_shape):
        n = self.num_tags
        self.kernel = self.add_weight(shape=(input_shape[-1], n), initializer="glorot_uniform",
                                      name="kernel")
        self.bias = self.add_weight(shape=(n,), initializer="zeros", name="bias")
        self.transitions = self.add_weight(shape=(n, n), initializer="zeros", name="transitions")
        self.start_scores = self.add_weight(shape=(n,), initializer="zeros", name="start_scores")
        self.end_scores = self.add_weight(shape=(n,), initializer="zeros", name="end_scores")

    def call(self, features):
        return ops.matmul(features, self.kernel) + self.bias

    def compute_mask(self, inputs, mask=None):
        return None  # the loss and the decoder take the mask explicitly

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.num_tags)

    # --- scores with the scheme's constraints applied ------------------------------------------

    def _scores(self):
        def constrain(scores, allowed):
            if allowed is None:
                return scores
            return ops.where(ops.convert_to_tensor(allowed, "bool"), scores,
                             ops.full_like(scores, FORBIDDEN))

        return (constrain(self.start_scores, self.allowed_starts),
                constrain(self.transitions, self.allowed_transitions),
                constrain(self.end_scores, self.allowed_ends))

    # --- training ------------------------------------------------------------------------------

    def path_score(self, potentials, tags, mask):
        """Score of the given tag paths [batch, time] (int) -> [batch]."""
        start, transitions, end = self._scores()
        weights = ops.cast(mask, potentials.dtype)
        tags = ops.cast(tags, "int32")
        unary = ops.take_along_axis(potentials, ops.expand_dims(tags, -1), axis=-1)[..., 0]
        pairs = ops.take(ops.reshape(transitions, (-1,)), tags[:, :-1] * self.num_tags + tags[:, 1:])
        lengths = ops.sum(ops.cast(mask, "int32"), axis=1)
        last_tags = ops.take_along_axis(tags, ops.expand_dims(ops.maximum(lengths - 1, 0), -1),
                                        axis=1)[:, 0]
        return (ops.sum(unary * weights, axis=1) + ops.sum(pairs * weights[:, 1:], axis=1)
                + ops.take(start, tags[:, 0]) + ops.take(end, last_tags))

    def log_partition(self, potentials, mask):
        """log Z: log-sum-exp of the scores of every path (forward algorithm) -> [batch]."""
        start, transitions, end = self._scores()
        time_major = ops.transpose(potentials, (1, 0, 2))
        valid = ops.expand_dims(ops.transpose(ops.cast(mask, "bool"), (1, 0)), -1)

        def step(t, alpha):
            summed = ops.logsumexp(ops.expand_dims(alpha, 2) + transitions, axis=1)
            return ops.where(ops.take(valid, t, axis=0), summed + ops.take(time_major, t, axis=0),
                             alpha)

        alpha = ops.fori_loop(1, ops.shape(time_major)[0], step, start + time_major[0])
        return ops.logsumexp(alpha + end, axis=-1)

    def negative_log_likelihood(self, potentials, tags, mask):
        """-log p(tags | potentials) per sentence [batch]; empty rows give 0."""
        nll = self.log_partition(potentials, mask) - self.path_score(potentials, tags, mask)
        return nll * ops.cast(ops.any(mask, axis=1), nll.dtype)

    def loss(self, y_true, y_pred):
        """For ``compile(loss=crf.loss)``: gold tag ids padded with -1, potentials -> [batch]."""
        y_true = ops.cast(y_true, "int32")
        mask = y_true >= 0
        return self.negative_log_likelihood(y_pred, ops.where(mask, y_true, 0), mask)

    # --- prediction ----------------------------------------------------------------------------

    def decode(self, potentials, mask):
        """Viterbi: the highest-scoring tag path [batch, time] (int32); padding repeats a tag."""
        start, transitions, end = self._scores()
        n = self.num_tags
        time_major = ops.transpose(potentials, (1, 0, 2))
        valid = ops.expand_dims(ops.transpose(ops.cast(mask, potentials.dtype), (1, 0)), -1)
        first = ops.zeros_like(valid)
        first = ops.concatenate([ops.ones_like(first[:1]), first[1:]], axis=0)
        # One tensor to scan over: Keras' TF scan cannot check the length of nested inputs.
        steps = ops.concatenate([time_major, valid, first], axis=-1)
        keep = ops.broadcast_to(ops.arange(n, dtype="int32"),
                                ops.shape(time_major)[1:])  # backpointer "stay on this tag"

        def forward(carry, step):
            delta, _ = carry
            unary, is_valid, is_first = step[:, :n], step[:, n:n + 1] > 0, step[:, n + 1:] > 0
            candidates = ops.expand_dims(delta, 2) + transitions  # [batch, from, to]
            best = ops.max(candidates, axis=1) + unary
            best_previous = ops.cast(ops.argmax(candidates, axis=1), "int32")
            delta = ops.where(is_first, start + unary, ops.where(is_valid, best, delta))
            backpointers = ops.where(ops.logical_or(is_first, ops.logical_not(is_valid)), keep,
                                     best_previous)
            return (delta, backpointers), (delta, backpointers)

        (delta, _), (_, backpointers) = ops.scan(
            forward, (ops.zeros_like(time_major[0]), keep), steps)
        last = ops.cast(ops.argmax(delta + end, axis=-1), "int32")

        def backward(tag, step_backpointers):
            previous = ops.take_along_axis(step_backpointers, ops.expand_dims(tag, -1), axis=1)
            return previous[:, 0], tag

        _, path = ops.scan(backward, last, backpointers, reverse=True)
        return ops.transpose(path, (1, 0))

    def get_config(self):
        return {**super().get_config(), "num_tags": self.num_tags,
                "allowed_starts": self.allowed_starts,
                "allowed_transitions": self.allowed_transitions,
                "allowed_ends": self.allowed_ends}
