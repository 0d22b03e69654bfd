"""Decoding an encoder–decoder (``seqtasks.models.encoder_decoder.Seq2Seq``) inside the graph.

Greedy decoding runs the shared ``sample_loop`` with ``GreedySampler``; beam search runs
``beam_search`` over the same step function: the decoder's ``step`` with per-row output limits of
``ratio x source length + offset`` tokens (at most ``max_length``; none for an empty source).
The source length is the number of real positions in the encoder's ``mask``, so any encoder that
``seqtasks.models.encoder_decoder.attach_decoder`` accepts decodes here (a captioner's image grid is always
full: ratio 0 and offset ``max_length`` give every image the same limit).
Everything is graph ops, so the functions trace inside exported signatures (autograph off).
"""

from __future__ import annotations

import tensorflow as tf

from seqtasks.decoding.beam_search import beam_search
from seqtasks.decoding.caps import MAX_BEAM_SIZE, capped
from seqtasks.decoding.limits import limit_lengths, limited_state
from seqtasks.decoding.loop import sample_loop
from seqtasks.decoding.samplers import GreedySampler
from seqtasks.models.encoder_decoder import Seq2Seq
from seqtasks.text.vocab import BOS_ID, EOS_ID


class Seq2SeqDecoder:
    """Encoder inputs (source ids [batch, time], images, ...) -> output ids [batch, time'] and
    lengths [batch] (before [EOS])."""

    def __init__(self, model: Seq2Seq, max_output_ratio: float, max_output_offset: int,
                 max_length: int):
        self.model = model
        self.ratio, self.offset, self.max_length = max_output_ratio, max_output_offset, max_length
        self.step_fn = limit_lengths(model.decoder.step, EOS_ID)

    def _start(self, inputs):
        encoded = self.model.encoder(inputs, training=False)
        state = self.model.decoder.initial_state(encoded["summary"], encoded["memory"],
                                                 encoded["mask"])
        source_lengths = tf.reduce_sum(tf.cast(encoded["mask"], tf.float32), 1)
        limits = tf.cast(tf.math.ceil(self.ratio * source_lengths), tf.int32) + self.offset
        limits = tf.minimum(limits, self.max_length)
        limits = tf.where(source_lengths > 0, limits, 0)  # nothing to translate: [EOS] at once
        start_ids = tf.fill([tf.shape(source_lengths)[0]], BOS_ID)
        steps = tf.reduce_max(tf.concat([limits, [0]], axis=0)) + 1  # room for [EOS]
        return limited_state(state, limits), start_ids, steps

    def greedy(self, inputs):
        state, start_ids, steps = self._start(inputs)
        return sample_loop(self.step_fn, state, start_ids, steps, GreedySampler(), EOS_ID,
                           seed=tf.zeros([2], tf.int32))

    def beam(self, inputs, beam_size, length_penalty):
        """The best hypothesis of a beam search."""
        state, start_ids, steps = self._start(inputs)
        ids, lengths, _ = beam_search(self.step_fn, state, start_ids, steps, beam_size, EOS_ID,
                                      length_penalty)
        return ids[:, 0], lengths[:, 0]

    def __call__(self, inputs, beam_size, length_penalty):
        """Greedy for ``beam_size`` <= 1, else beam search (both may be run-time tensors); a
        ``beam_size`` over ``MAX_BEAM_SIZE`` fails the call (the cap is in the graph)."""
        beam_size = capped(beam_size, MAX_BEAM_SIZE, "beam_size")
        return tf.cond(tf.cast(beam_size, tf.int32) > 1,
                       lambda: self.beam(inputs, beam_size, length_penalty),
                       lambda: self.greedy(inputs))

    def attention(self, inputs, output_ids):
        """Attention weights [batch, time' + 1, positions] of the decoder while it emits
        ``output_ids`` [batch, time'] and then [EOS] (row t: the step that emits token t)."""
        encoded = self.model.encoder(inputs, training=False)
        bos = tf.fill([tf.shape(output_ids)[0], 1], BOS_ID)
        decoder_inputs = tf.concat([bos, tf.cast(output_ids, tf.int32)], axis=1)
        return self.model.decoder.attention_weights(decoder_inputs, encoded["memory"],
                                                    encoded["summary"], encoded["mask"])
