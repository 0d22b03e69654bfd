"""The encoder–decoder as a whole: it saves and reloads, and it learns a small task."""

import random

import keras
import numpy as np
import pytest
import tensorflow as tf

from pipelines import translation
from seqtasks import config as config_lib
from seqtasks.data.parallel import ParallelText
from seqtasks.decoding.encoder_decoder_loop import Seq2SeqDecoder
from seqtasks.errors import ConfigError
from seqtasks.models.encoder_decoder import Seq2SeqConfig, build_seq2seq
from seqtasks.task import Splits
from seqtasks.training.lifecycle import compile_model
from seqtasks.training.run_dir import RunDir


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


def reversal_pairs(n: int, rng: random.Random) -> ParallelText:
    sources = [" ".join(rng.choice("abcdefgh") for _ in range(rng.randint(3, 7)))
               for _ in range(n)]
    return ParallelText(sources, [" ".join(s.split()[::-1]) for s in sources], "memory",
                        list(range(1, n + 1)), {"blank": 0, "too_long": 0})


@pytest.mark.filterwarnings("ignore:.*(shuffle=True|ran out of data).*:UserWarning")
def test_a_tiny_reversal_task_is_learned_end_to_end(tmp_path):
    """Training (tf.data, teacher forcing, loss) and in-graph decoding fit together: reversing
    3-7 letters is learned to (nearly) every sentence right in a few epochs."""
    keras.utils.set_random_seed(0)
    rng = random.Random(0)
    config = config_lib.replace(
        translation.TranslationConfig(), level="word", embedding_dim=16, units=32, dropout=0.0,
        label_smoothing=0.0, batch_size=32, learning_rate=0.01, attention="bahdanau", seed=0)
    run = RunDir(tmp_path)
    run.resume.mkdir()
    splits = Splits(reversal_pairs(2000, rng), reversal_pairs(100, rng))
    data = translation.TASK.prepare(config, splits, run, resumed=False)
    train_ds, _ = translation.TASK.datasets(config, data)
    model = translation.TASK.build(config, data)
    compile_model(translation.TASK, config, model, steps_per_epoch=1).fit(train_ds, epochs=5,
                                                                          verbose=0)
    decoder = Seq2SeqDecoder(model, 1.5, 2, config.max_length)
    source_ids = data.source.dense(tf.constant(data.valid.sources))
    for ids, lengths in (decoder.greedy(source_ids), decoder.beam(source_ids, 3, 0.6)):
        outputs = data.target.decode(tf.RaggedTensor.from_tensor(ids, lengths=lengths)).numpy()
        exact = np.mean([o.decode() == t for o, t in zip(outputs, data.valid.targets)])
        assert exact >= 0.95, list(zip(outputs, data.valid.targets))[:5]
