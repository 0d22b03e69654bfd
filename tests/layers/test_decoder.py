import keras
import numpy as np
import pytest
import tensorflow as tf

from seqtasks.errors import ConfigError
from seqtasks.layers.attention import ATTENTION_CHOICES
from seqtasks.layers.decoder import AttentionDecoder

VOCAB = 11


def decoder_inputs(seed=0):
    rng = np.random.default_rng(seed)
    memory = rng.normal(size=(3, 5, 8)).astype("float32")
    mask = np.arange(5)[None, :] < np.array([[5], [2], [4]])
    summary = rng.normal(size=(3, 8)).astype("float32")
    targets = rng.integers(4, VOCAB, size=(3, 6)).astype("int32")
    return targets, memory, summary, mask


def make(attention="bahdanau", cell="gru", scheduled_sampling=False):
    keras.utils.set_random_seed(0)
    decoder = AttentionDecoder(VOCAB, embedding_dim=6, cell=cell, units=8, attention=attention,
                               attention_units=5, scheduled_sampling=scheduled_sampling, seed=3)
    targets, memory, summary, mask = decoder_inputs()
    decoder(targets, memory, summary, memory_mask=mask)
    return decoder


@pytest.mark.parametrize("attention", ATTENTION_CHOICES)
@pytest.mark.parametrize("cell", ["gru", "lstm", "peephole_lstm"])
def test_stepping_one_token_at_a_time_equals_the_teacher_forced_unroll(attention, cell):
    decoder = make(attention, cell)
    targets, memory, summary, mask = decoder_inputs()
    unrolled = keras.ops.convert_to_numpy(decoder(targets, memory, summary, memory_mask=mask))
    state = decoder.initial_state(summary, memory, mask)
    for t in range(targets.shape[1]):
        logits, state = decoder.step(tf.constant(targets[:, t]), state)
        np.testing.assert_allclose(logits, unrolled[:, t], atol=1e-5)


@pytest.mark.parametrize("attention", ["bahdanau", "luong_general"])
def test_attention_weights_sum_to_one_over_the_real_source_positions(attention):
    decoder = make(attention)
    targets, memory, summary, mask = decoder_inputs()
    weights = keras.ops.convert_to_numpy(
        decoder.attention_weights(targets, memory, summary, mask))
    assert weights.shape == (3, 6, 5)
    np.testing.assert_allclose(weights.sum(-1), 1.0, rtol=1e-5)
    assert np.all(weights[np.broadcast_to(~mask[:, None, :], weights.shape)] == 0.0)


def test_scheduled_sampling_feeds_own_predictions_only_while_training():
    decoder = make(scheduled_sampling=True)
    targets, memory, summary, mask = decoder_inputs()
    other = targets.copy()
    other[:, 1:] = (targets[:, 1:] + 1) % VOCAB  # same [BOS]-like first input, other gold tokens

    def logits(ids, training):
        return keras.ops.convert_to_numpy(decoder(ids, memory, summary, memory_mask=mask,
                                                  training=training))

    teacher_forced = logits(targets, training=False)
    decoder.sampling_probability.assign(0.0)
    np.testing.assert_allclose(logits(targets, training=True), teacher_forced, atol=1e-5)
    decoder.sampling_probability.assign(1.0)
    own = logits(targets, training=True)
    np.testing.assert_allclose(logits(other, training=True), own, atol=1e-5)  # gold ignored
    assert not np.allclose(own, teacher_forced, atol=1e-3)
    np.testing.assert_allclose(own[:, 0], teacher_forced[:, 0], atol=1e-5)  # step 0 reads gold
    np.testing.assert_allclose(logits(targets, training=False), teacher_forced, atol=1e-5)


def test_unknown_cell_is_a_config_error():
    with pytest.raises(ConfigError, match="Unknown cell 'lsmt'"):
        AttentionDecoder(VOCAB, cell="lsmt")


def test_config_round_trip():
    decoder = make("luong_dot", "lstm", scheduled_sampling=True)
    clone = AttentionDecoder.from_config(decoder.get_config())
    assert clone.get_config() == decoder.get_config()
