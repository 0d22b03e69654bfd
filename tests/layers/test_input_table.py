"""Input tables: an LSTM fed from token ids through a table of its input products gives what it
gives on the embeddings, for every layer option, mask and batch size; and the export's fold
finds exactly the chains it can replace, within its size budget."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from seqtasks.export.input_tables import fold_input_tables
from seqtasks.layers import input_table as table_module
from seqtasks.layers.fused_rnn import FusedGRU, FusedLSTM
from seqtasks.layers.input_table import TableFedLSTM, foldable, input_table

VOCABULARY, FEATURES, UNITS, TIME = 17, 5, 4, 9
TOLERANCE = 1e-5


def weighted(layer, input_shape):
    layer.build(input_shape)
    rng = np.random.default_rng(3)
    layer.set_weights([rng.normal(scale=0.6, size=w.shape).astype("float32")
                       for w in layer.get_weights()])
    return layer


def embedding(mask_zero=True):
    return weighted(keras.layers.Embedding(VOCABULARY, FEATURES, mask_zero=mask_zero),
                    (None, None))


def token_ids(batch, lengths, left=False, holes=False, seed=0):
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, VOCABULARY, size=(batch, TIME))
    lengths = np.resize(np.array(lengths), batch)
    keep = np.arange(TIME)[None, :] < lengths[:, None]
    if left:
        keep = keep[:, ::-1]
    if holes:
        keep[:, 2] = False
    return np.where(keep, ids, 0).astype("int32")


def both(recurrent, mask_zero=True):
    """(the layer on the embeddings, the layer fed through tables): functions of token ids,
    each traced once."""
    lookup = embedding(mask_zero)
    recurrent = weighted(recurrent, (None, None, FEATURES))
    fed = TableFedLSTM(lookup, recurrent)
    spec = [tf.TensorSpec([None, None], tf.int32)]

    @tf.function(input_signature=spec)
    def on_embeddings(ids):
        return recurrent(lookup(ids), mask=lookup.compute_mask(ids), training=False)

    @tf.function(input_signature=spec)
    def on_tables(ids):
        return fed(ids, mask=lookup.compute_mask(ids), training=False)

    return on_embeddings, on_tables


def assert_same(recurrent, batches, mask_zero=True):
    on_embeddings, on_tables = both(recurrent, mask_zero)
    for ids in batches:
        want = on_embeddings(ids).numpy()
        np.testing.assert_allclose(on_tables(ids).numpy(), want, atol=TOLERANCE, rtol=0)
        if ids.any():  # not all zeros: the check can fail
            assert np.abs(want).max() > 100 * TOLERANCE


LENGTHS = {"one_token": [1], "max_length": [TIME], "mixed": [0, 1, TIME, 4, 7, 2],
           "empty_rows": [0, 3]}
LAYERS = {
    "sequences": lambda: FusedLSTM(UNITS, return_sequences=True),
    "last": lambda: FusedLSTM(UNITS),
    "backwards": lambda: FusedLSTM(UNITS, return_sequences=True, go_backwards=True),
    "zero_output": lambda: FusedLSTM(UNITS, return_sequences=True, zero_output_for_mask=True),
    "no_bias": lambda: FusedLSTM(UNITS, return_sequences=True, use_bias=False),
    "bi_concat": lambda: keras.layers.Bidirectional(FusedLSTM(UNITS, return_sequences=True)),
    "bi_last": lambda: keras.layers.Bidirectional(FusedLSTM(UNITS)),
    "bi_sum": lambda: keras.layers.Bidirectional(FusedLSTM(UNITS, return_sequences=True),
                                                 merge_mode="sum"),
    "bi_ave": lambda: keras.layers.Bidirectional(FusedLSTM(UNITS), merge_mode="ave"),
    "bi_mul": lambda: keras.layers.Bidirectional(FusedLSTM(UNITS, return_sequences=True),
                                                 merge_mode="mul"),
}
# Both sides of the batch size where the tables take over from BlockLSTM.
BATCHES = [1, table_module.TABLE_MIN_BATCH - 1, table_module.TABLE_MIN_BATCH, 40]


# The commonest layers in the default run; the other options in the slow one.
DEFAULT_RUN = ("sequences", "backwards", "bi_concat", "bi_last")


@pytest.mark.parametrize("layer", [
    pytest.param(name, marks=() if name in DEFAULT_RUN else pytest.mark.slow) for name in LAYERS])
def test_same_outputs_as_on_the_embeddings(layer):
    assert_same(LAYERS[layer](), [token_ids(batch, lengths, seed=batch)
                                  for lengths in LENGTHS.values() for batch in BATCHES])


@pytest.mark.parametrize("layer", [
    pytest.param(name, marks=() if name in ("backwards", "bi_concat") else pytest.mark.slow)
    for name in ("sequences", "backwards", "zero_output", "bi_concat", "bi_last")])
def test_small_batches_from_the_tables_alone(layer, monkeypatch):
    # The batch size where BlockLSTM hands over is a speed choice: the tables' path is right
    # below it too.
    monkeypatch.setattr(table_module, "TABLE_MIN_BATCH", 0)
    assert_same(LAYERS[layer](), [token_ids(batch, lengths, seed=batch)
                                  for lengths in LENGTHS.values() for batch in (1, 3)])


@pytest.mark.parametrize("layer", ["sequences", "backwards", "bi_concat", "bi_last"])
def test_other_masks_take_the_tables_with_the_same_outputs(layer):
    assert_same(LAYERS[layer](), [token_ids(batch, [0, 1, 5, TIME], **padding)
                                  for padding in ({"left": True}, {"holes": True})
                                  for batch in (3, 40)])


def test_no_mask():
    assert_same(LAYERS["bi_concat"](), [token_ids(batch, [TIME]) for batch in (2, 40)],
                mask_zero=False)


def test_the_table_is_each_directions_input_product_in_the_loops_gate_order():
    lookup = embedding()
    layer = weighted(keras.layers.Bidirectional(FusedLSTM(UNITS)), (None, None, FEATURES))
    table = input_table(lookup.embeddings.numpy(), layer)
    assert table.shape == (VOCABULARY, 2 * 4 * UNITS) and table.dtype == np.float32
    for part, direction in zip(np.split(table, 2, axis=-1),
                               [layer.forward_layer, layer.backward_layer]):
        product = lookup.embeddings.numpy() @ direction.cell.kernel.numpy() \
            + direction.cell.bias.numpy()
        i, f, c, o = np.split(product, 4, axis=-1)
        np.testing.assert_allclose(part, np.concatenate([i, f, o, c], axis=-1), atol=1e-5)


def test_what_cannot_be_fed_from_a_table():
    built = (None, None, FEATURES)
    assert foldable(weighted(FusedLSTM(UNITS), built))
    assert not foldable(FusedLSTM(UNITS))  # not built: no weights to fold
    assert not foldable(weighted(FusedGRU(UNITS), built))
    assert not foldable(weighted(keras.layers.LSTM(UNITS), built))  # another loop
    assert not foldable(weighted(FusedLSTM(UNITS, return_state=True), built))
    assert not foldable(weighted(FusedLSTM(UNITS, activation="relu"), built))
    assert not foldable(weighted(
        keras.layers.Bidirectional(FusedLSTM(UNITS), merge_mode=None), built))
    with pytest.raises(ValueError, match="not an LSTM an input table can feed"):
        TableFedLSTM(embedding(), weighted(FusedGRU(UNITS), built))


# --- the export's fold -----------------------------------------------------------------------

def classifier(recurrent=None, dropout=True, extra_use=False, initial_state=False):
    ids = keras.Input(shape=(None,), dtype="int32")
    x = keras.layers.Embedding(VOCABULARY, FEATURES, mask_zero=True)(ids)
    embedded = x
    if dropout:
        x = keras.layers.Dropout(0.5)(x)
    layer = recurrent or keras.layers.Bidirectional(FusedLSTM(UNITS))
    if initial_state:
        state = keras.ops.zeros_like(x[:, 0, :1]) + keras.ops.zeros((1, UNITS))
        x = layer(x, initial_state=[state, state])
    else:
        x = layer(x)
    if extra_use:  # the embeddings also go elsewhere: the table could not replace them
        x = keras.layers.Concatenate()([x, keras.layers.GlobalAveragePooling1D()(embedded)])
    model = keras.Model(ids, keras.layers.Dense(3, activation="softmax")(x))
    rng = np.random.default_rng(4)
    model.set_weights([rng.normal(scale=0.6, size=w.shape).astype("float32")
                       for w in model.get_weights()])
    return model


def fed_layers(model):
    return [layer for layer in model.layers if isinstance(layer, TableFedLSTM)]


def test_the_fold_replaces_the_chain_and_keeps_the_outputs():
    model = classifier()
    served = fold_input_tables(model)
    assert served is not model and len(fed_layers(served)) == 1
    for batch in (2, 40):
        ids = token_ids(batch, [0, 1, TIME, 4])
        np.testing.assert_allclose(served(ids, training=False), model(ids, training=False),
                                   atol=TOLERANCE, rtol=0)
    # The model itself is untouched, and folds again (an export made twice).
    assert not fed_layers(model)
    assert len(fed_layers(fold_input_tables(model))) == 1


@pytest.mark.parametrize("case", [
    {"extra_use": True},
    {"recurrent": FusedGRU(UNITS)},
    {"recurrent": keras.layers.LSTM(UNITS)},
    {"recurrent": FusedLSTM(UNITS), "initial_state": True},
])
def test_chains_the_table_cannot_replace_are_served_as_they_are(case):
    model = classifier(**case)
    assert fold_input_tables(model) is model


def test_the_tables_stay_within_the_budget():
    model = classifier()
    size = VOCABULARY * 2 * 4 * UNITS * 4
    assert fold_input_tables(model, max_bytes=size - 1) is model
    assert fold_input_tables(model, max_bytes=size) is not model


def test_models_other_than_plain_functional_ones_are_served_as_they_are():
    class Subclassed(keras.Model):
        def __init__(self):
            super().__init__()
            self.embedding = keras.layers.Embedding(VOCABULARY, FEATURES, mask_zero=True)
            self.lstm = FusedLSTM(UNITS)

        def call(self, ids):
            return self.lstm(self.embedding(ids))

    model = Subclassed()
    model(token_ids(2, [3]))
    assert fold_input_tables(model) is model


def test_a_compiled_model_with_its_own_optimizer_folds():
    # The served model is never compiled: an optimizer Keras could not rebuild from its config
    # (a class nobody registered) must not stop the export.
    class OwnAdam(keras.optimizers.Adam):
        pass

    model = classifier()
    model.compile(optimizer=OwnAdam(), loss="sparse_categorical_crossentropy")
    served = fold_input_tables(model)
    assert len(fed_layers(served)) == 1 and not served.compiled
