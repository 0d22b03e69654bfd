import keras
import numpy as np
import pytest

from seqtasks.training.losses import SmoothedSparseCrossentropy


def log_softmax(x):
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


def test_label_smoothing_matches_its_formula_and_padding_is_weighted_out():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(2, 3, 5)).astype("float32")
    targets = np.array([[1, 4, 0], [2, 0, 0]])
    weights = (targets != 0).astype("float32")
    log_probs = log_softmax(logits)
    gold = -np.take_along_axis(log_probs, targets[..., None], -1)[..., 0]
    smoothed = 0.9 * gold + 0.1 * -log_probs.mean(-1)
    expected = (smoothed * weights).sum() / weights.sum()
    loss = SmoothedSparseCrossentropy(0.1)(targets, logits, sample_weight=weights)
    assert float(loss) == pytest.approx(expected, rel=1e-5)


def test_without_smoothing_it_is_keras_sparse_crossentropy():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(4, 6)).astype("float32")
    targets = np.array([0, 3, 5, 1])
    keras_loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(targets, logits)
    ours = SmoothedSparseCrossentropy(0.0)(targets, logits)
    assert float(ours) == pytest.approx(float(keras_loss), rel=1e-5)


def test_round_trips_through_its_config():
    loss = SmoothedSparseCrossentropy(0.2)
    assert SmoothedSparseCrossentropy.from_config(loss.get_config()).label_smoothing == 0.2
