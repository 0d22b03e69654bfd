"""Greedy and beam decoding of a (randomly initialised) encoder–decoder inside the graph."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from seqtasks.decoding.encoder_decoder_loop import Seq2SeqDecoder
from seqtasks.models.encoder_decoder import Seq2SeqConfig, build_seq2seq
from seqtasks.text.vocab import EOS_ID

SOURCES = np.array([[4, 5, 6, 7, 8, 9], [10, 11, 0, 0, 0, 0], [12, 0, 0, 0, 0, 0]], "int32")


def build(attention: str):
    keras.utils.set_random_seed(4)
    config = Seq2SeqConfig(embedding_dim=8, units=8, cell="gru", attention=attention)
    return build_seq2seq(config, 20, 9)


@pytest.fixture(scope="module", params=["bahdanau", "none"])
def model(request):
    return build(request.param)


def test_beam_size_one_is_greedy_and_a_wider_beam_scores_no_worse(model):
    decoder = Seq2SeqDecoder(model, 2.0, 3, max_length=20)
    greedy_ids, greedy_lengths = decoder.greedy(SOURCES)
    ids, lengths = decoder.beam(SOURCES, 1, 0.0)
    np.testing.assert_array_equal(lengths, greedy_lengths)
    for row, n in enumerate(greedy_lengths.numpy()):
        np.testing.assert_array_equal(ids[row, :n], greedy_ids[row, :n])
    cond_ids, cond_lengths = decoder(tf.constant(SOURCES), tf.constant(1), 0.0)
    np.testing.assert_array_equal(cond_lengths, greedy_lengths)


def test_outputs_stop_at_ratio_times_source_length_plus_offset(model):
    decoder = Seq2SeqDecoder(model, 0.5, 1, max_length=20)
    limits = np.ceil(0.5 * (SOURCES > 0).sum(1)).astype(int) + 1  # [4, 2, 2]
    for ids, lengths in (decoder.greedy(SOURCES), decoder.beam(SOURCES, 3, 0.6)):
        assert np.all(lengths.numpy() <= limits)
        for row, n in enumerate(lengths.numpy()):
            assert np.all(ids[row, n:].numpy() == EOS_ID)
    _, capped = Seq2SeqDecoder(model, 10.0, 10, max_length=3).greedy(SOURCES)
    assert np.all(capped.numpy() <= 3)
    empty = np.zeros((2, 2), "int32")  # two empty sources: nothing to translate
    assert decoder.greedy(empty)[1].numpy().tolist() == [0, 0]
    assert decoder.beam(empty, 3, 0.6)[1].numpy().tolist() == [0, 0]


def test_attention_rows_cover_every_output_token_and_the_eos():
    decoder = Seq2SeqDecoder(build("bahdanau"), 2.0, 3, max_length=20)
    ids, lengths = decoder.greedy(SOURCES)
    weights = decoder.attention(SOURCES, ids).numpy()
    assert weights.shape == (3, ids.shape[1] + 1, SOURCES.shape[1])
    np.testing.assert_allclose(weights.sum(-1), 1.0, rtol=1e-5)
    assert np.all(weights[1, :, 2:] == 0.0) and np.all(weights[2, :, 1:] == 0.0)
