"""The sentiment export's serving graph: BlockLSTM on small right-padded batches, input tables
on larger ones, the same outputs as the graph that served before (the masked inference loop),
and nothing but stock TensorFlow and tensorflow-text ops, so it loads in
``tf.saved_model.load`` and TF Serving."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from helpers import run_fresh_python, tiny_sentiment_config
from pipelines import sentiment
from seqtasks.export.input_tables import fold_input_tables
from seqtasks.export.savedmodel import export_savedmodel, op_types
from seqtasks.layers import fused_rnn as fused_module
from seqtasks.layers.input_table import TABLE_MIN_BATCH
from seqtasks.text import Vocabulary
from seqtasks.text.encoder import TextEncoder

MAX_LENGTH = 12
WORDS = ["a", "gorgeous", "witty", "film", "dull", "plot", "the", "is", "not", ",", "!"]


def random_sentences(rng, count, lengths):
    """Sentences of the given word counts (unknown words too), spaces varied."""
    words = WORDS + ["unseen", "zzz"]
    return [" ".join(rng.choice(words, n)) + (str(rng.choice(["", " ", "  !"])) if n else "")
            for n in rng.choice(lengths, count)]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    keras.utils.set_random_seed(3)
    config = tiny_sentiment_config(embedding_dim=8, units=8, max_length=MAX_LENGTH,
                                   pooling="max", bidirectional=True, rnn_kernel="fused")
    encoder = TextEncoder(Vocabulary(WORDS), config.level, config.lowercase, config.max_length)
    model = sentiment.build(config, len(encoder.vocabulary), 2)
    rng = np.random.default_rng(0)
    model.set_weights([rng.normal(scale=0.5, size=w.shape).astype("float32")
                       for w in model.get_weights()])
    served = fold_input_tables(model)  # as an export of training does
    functions = sentiment.serving_functions(served, encoder, ["neg", "pos"])
    export = export_savedmodel(tmp_path_factory.mktemp("sentiment"), served, encoder.resources,
                               functions, {"task": "sentiment"})
    return model, encoder, export


def todays_probabilities(model, encoder, texts, monkeypatch):
    """What the graph that served before (the masked loop, traced afresh) gives."""
    monkeypatch.setattr(fused_module, "fused_rnn", fused_module._masked_loop)
    try:
        run = tf.function(lambda t: model(encoder.dense(t), training=False))
        return run(tf.constant(texts)).numpy()
    finally:
        monkeypatch.undo()


PATTERNS = {"empty": [0], "one_token": [1], "max_length": [MAX_LENGTH],
            "longer_than_max_length": [MAX_LENGTH + 5], "mixed": [0, 1, 2, 5, MAX_LENGTH, 20]}


def length_pattern_batches():
    rng = np.random.default_rng(1)
    batches = [random_sentences(rng, 7, lengths) for lengths in PATTERNS.values()]
    batches.append(random_sentences(rng, 1, [4]))  # a batch of one
    batches.append([""] * 3)  # nothing to read at all
    batches.append(random_sentences(rng, 40, PATTERNS["mixed"]))  # past BlockLSTM's batch limit
    batches.append(random_sentences(rng, TABLE_MIN_BATCH, PATTERNS["mixed"]))  # the tables'
    return batches


@pytest.fixture(scope="module")
def served(exported):
    """One fresh process (each costs a TensorFlow import) that first looks up the export's op
    types with TensorFlow alone, then imports tensorflow_text, loads the export and serves every
    length-pattern batch as its own request."""
    _, _, export = exported
    types = sorted(op_types(export))
    out = run_fresh_python(f"""
        import json
        import tensorflow as tf
        from tensorflow.python.framework import op_def_registry
        types = {types!r}
        missing = [t for t in types if op_def_registry.get(t) is None]
        import tensorflow_text  # registers the tokenizer ops
        unknown = [t for t in missing if op_def_registry.get(t) is None]
        loaded = tf.saved_model.load({str(export)!r})
        classify = loaded.signatures["serving_default"]
        tables = sorted(v.name for v in loaded.variables if "input_table" in v.name)
        print(json.dumps({{"missing": missing, "unknown": unknown, "tables": tables,
                           "probabilities": [
            classify(text=tf.constant(batch))["probabilities"].numpy().tolist()
            for batch in {length_pattern_batches()!r}]}}))
    """)
    return types, json.loads(out.strip().splitlines()[-1])


def test_the_export_serves_todays_outputs_on_every_length_pattern(exported, served, monkeypatch):
    model, encoder, export = exported
    assert "BlockLSTM" in op_types(export)
    batches = length_pattern_batches()
    probabilities_served = served[1]["probabilities"]
    assert len(probabilities_served) == len(batches)
    for batch, probabilities in zip(batches, probabilities_served):
        assert np.array(probabilities).shape == (len(batch), 2)
        expected = todays_probabilities(model, encoder, batch, monkeypatch)
        np.testing.assert_allclose(np.array(probabilities), expected, atol=1e-5, rtol=0)
    # The cases above are not all alike: the check could fail.
    assert len({round(p[0], 4) for batch in probabilities_served for p in batch}) > 10
    # One input table per direction travels with the export.
    assert len(served[1]["tables"]) == 2, served[1]["tables"]


def test_the_export_holds_only_stock_tensorflow_and_tensorflow_text_ops(served):
    types, found = served
    assert "BlockLSTM" in types and not [t for t in types if t.startswith("Cudnn")]
    # In a process with TensorFlow alone, every op is registered but tensorflow-text's; those
    # are registered by importing tensorflow_text (what TF Serving's stock binary links).
    assert found["unknown"] == []
    # Only tokenizer ops come from tensorflow-text (the scan sees them: the check can fail).
    assert found["missing"] and all(t.startswith(("RegexSplit", "CaseFold", "Normalize"))
                                    for t in found["missing"]), found["missing"]
