"""Truncated BPTT: the carried state makes windows equal one long run; resets restart it."""

import keras
import numpy as np
import pytest

from seqtasks.config import RecurrentConfig
from seqtasks.data.corpus import StreamLayout, tbptt_dataset
from seqtasks.layers.recurrent import recurrent_stack, state_sizes
from seqtasks.training.tbptt import ResetCarriedState, TruncatedBPTT

VOCAB = 12


def step_model(cell: str) -> keras.Model:
    config = RecurrentConfig(cell=cell, units=5, num_layers=2, bidirectional=False, dropout=0.0)
    ids = keras.Input((None,), dtype="int32")
    states = [keras.Input((size,)) for size in state_sizes(config)]
    x = keras.layers.Embedding(VOCAB, 4)(ids)
    x, final = recurrent_stack(x, config, return_sequences=True, initial_state=states,
                               return_state=True, mask=keras.ops.not_equal(ids, 0))
    return keras.Model([ids, *states], [keras.layers.Dense(VOCAB)(x), *final])


@pytest.mark.parametrize("cell, steps, stride", [("lstm", 5, 5), ("gru", 6, 4), ("lstm", 4, 1)])
def test_windows_with_carried_state_equal_one_run_over_each_stream(cell, steps, stride):
    keras.utils.set_random_seed(1)
    inner = step_model(cell)
    ids = np.random.default_rng(0).integers(1, VOCAB, 61).astype(np.int32)
    layout = StreamLayout(len(ids), batch_size=3, steps=steps, stride=stride)
    model = TruncatedBPTT(inner, layout.batch_size, steps, stride)

    streams = np.stack([ids[b * layout.stream_length: (b + 1) * layout.stream_length]
                        for b in range(layout.batch_size)])
    zeros = [np.zeros((layout.batch_size, int(state.shape[-1])), np.float32)
             for state in inner.inputs[1:]]
    full_logits = inner.predict_on_batch([streams, *zeros])[0]

    for index in range(layout.n_windows):
        inputs, _, weights = layout.window(ids, index)
        logits = keras.ops.convert_to_numpy(model(inputs, training=False))
        offsets = np.arange(steps)
        positions = index * stride - (steps - stride) + offsets
        for b in range(layout.batch_size):
            for o in offsets[weights[b] == 1]:
                np.testing.assert_allclose(logits[b, o], full_logits[b, positions[o]],
                                           atol=1e-5)


def test_training_carries_state_and_the_callback_resets_it():
    keras.utils.set_random_seed(2)
    ids = np.random.default_rng(1).integers(1, VOCAB, 200).astype(np.int32)
    layout = StreamLayout(len(ids), batch_size=4, steps=6, stride=6)
    model = TruncatedBPTT(step_model("lstm"), 4, 6, 6)
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(
        from_logits=True, reduction="mean_with_sample_weight"))
    history = model.fit(tbptt_dataset(ids, layout), epochs=2, verbose=0, shuffle=False,
                        callbacks=[ResetCarriedState()])
    assert np.isfinite(history.history["loss"]).all()
    assert any(np.abs(keras.ops.convert_to_numpy(v)).sum() > 0 for v in model.carried)
    callback = ResetCarriedState()
    callback.set_model(model)
    callback.on_epoch_begin(0)
    assert all(np.abs(keras.ops.convert_to_numpy(v)).sum() == 0 for v in model.carried)


def test_windows_run_unrolled_and_the_step_model_keeps_its_loops():
    inner = step_model("lstm")
    recurrent = [layer for layer in inner.layers if isinstance(layer, keras.layers.RNN)]
    seen = []
    original = type(recurrent[0]).inner_loop

    def spy(layer, *args, **kwargs):
        seen.append(layer.unroll)
        return original(layer, *args, **kwargs)

    model = TruncatedBPTT(inner, 2, 4, 4)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(type(recurrent[0]), "inner_loop", spy)
        model(np.ones((2, 4), np.int32))
    assert seen == [True, True]  # both layers traced as straight lines of steps
    assert [layer.unroll for layer in recurrent] == [False, False]  # export: any length
