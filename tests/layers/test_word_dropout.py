"""Word dropout: ids to [UNK] at the given rate in training only, padding untouched."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from seqtasks.layers.word_dropout import WordDropout
from seqtasks.text.vocab import PAD_ID, UNK_ID


def test_rate_training_only_and_padding_kept():
    ids = np.full((200, 50), 7, dtype="int32")
    ids[:, 40:] = PAD_ID
    layer = WordDropout(0.2, seed=3)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(ids)), ids)
    dropped = keras.ops.convert_to_numpy(layer(ids, training=True))
    assert set(np.unique(dropped)) == {PAD_ID, UNK_ID, 7}
    assert (dropped[:, 40:] == PAD_ID).all()
    assert abs((dropped[:, :40] == UNK_ID).mean() - 0.2) < 0.02


def test_config_and_bad_rate():
    layer = WordDropout(0.1, replacement_id=5, seed=1)
    clone = WordDropout.from_config(layer.get_config())
    assert (clone.rate, clone.replacement_id, clone.seed) == (0.1, 5, 1)
    with pytest.raises(ValueError, match=r"rate must be in \[0, 1\)"):
        WordDropout(1.0)
