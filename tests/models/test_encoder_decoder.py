"""The encoder–decoder builder: the trainable model saves and reloads; bad settings are refused.
That it learns is tested through the translation pipeline (tests/pipelines/test_translation.py)."""


import keras
import numpy as np
import pytest

from seqtasks.errors import ConfigError
from seqtasks.models.encoder_decoder import Seq2SeqConfig, build_seq2seq


@pytest.mark.parametrize("attention, bidirectional", [("bahdanau", True), ("luong_dot", False),
                                                      ("none", True)])
def test_the_trainable_model_saves_and_reloads(tmp_path, attention, bidirectional):
    keras.utils.set_random_seed(0)
    config = Seq2SeqConfig(embedding_dim=6, units=5, cell="lstm", num_layers=2,
                           bidirectional=bidirectional, attention=attention)
    model = build_seq2seq(config, 13, 11, scheduled_sampling=True, seed=1)
    inputs = (np.array([[4, 5, 6], [7, 0, 0]], "int32"), np.array([[2, 4], [2, 9]], "int32"))
    expected = model.trainer.predict_on_batch(inputs)
    model.trainer.save(tmp_path / "m.keras")
    reloaded = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(reloaded.predict_on_batch(inputs), expected, atol=1e-6)


def test_label_smoothing_must_be_below_one():
    with pytest.raises(ConfigError, match=r"label_smoothing must be in \[0, 1\)"):
        build_seq2seq(Seq2SeqConfig(label_smoothing=1.0), 10, 10)
