"""Exports are CPU graphs: no function of a pipeline's saved_model.pb holds a cuDNN-only op.

Where a GPU is present Keras' own LSTM/GRU layers switch to cuDNN kernels (``CudnnRNN*`` ops),
which have no CPU kernel, so an export traced there would not serve on a CPU. Each pipeline's full
export (its serving functions: tokenization, loops, beam search) is scanned after training that
goes through the same layers a GPU run would use: a bidirectional classifier and a stateful LM
with LSTM cells, an attentional encoder–decoder with GRU cells (both cells with cuDNN kernels).
"""

import pytest
import tensorflow as tf

import seqtasks
from helpers import DATA
from seqtasks.export.savedmodel import op_types as saved_op_types


def test_the_scan_finds_ops_inside_every_saved_function(tmp_path):
    """A negative control: a CudnnRNNV3 op (traced, never run: a CPU has no kernel for it)
    deep inside a saved function is found."""
    module = tf.Module()
    shapes = [tf.TensorSpec([5, 2, 3]), tf.TensorSpec([1, 2, 4]), tf.TensorSpec([1, 2, 4]),
              tf.TensorSpec([None]), tf.TensorSpec([2], tf.int32)]

    @tf.function(input_signature=shapes)
    def run(x, h, c, params, lengths):
        return tf.raw_ops.CudnnRNNV3(input=x, input_h=h, input_c=c, params=params,
                                     sequence_lengths=lengths, time_major=True)[0]

    module.run = run
    tf.saved_model.save(module, str(tmp_path / "m"))
    assert "CudnnRNNV3" in saved_op_types(tmp_path / "m")


def train_sentiment(cell, out):
    from pipelines import sentiment

    config = sentiment.SentimentConfig(cell=cell, embedding_dim=8, units=8, epochs=1,
                                       min_count=1, seed=1)
    return sentiment.train(config, DATA / "sentiment" / "train.tsv",
                           DATA / "sentiment" / "valid.tsv", out, verbose=0)


def train_lm(cell, out):
    from pipelines import language_model

    config = language_model.LanguageModelConfig(cell=cell, level="char", embedding_dim=8,
                                                units=8, num_layers=1, epochs=1, seed=1)
    return language_model.train(config, DATA / "lm" / "shakespeare_train.txt",
                                DATA / "lm" / "shakespeare_valid.txt", out, verbose=0)


def train_translation(cell, out):
    from pipelines import translation

    config = translation.TranslationConfig(cell=cell, embedding_dim=8, units=8, epochs=1,
                                           max_vocab_size=200, beam_size=1, seed=1)
    return translation.train(config, DATA / "translation" / "train.tsv",
                             DATA / "translation" / "valid.tsv", out, verbose=0)


def serve(task, export):
    predictor = seqtasks.load(export)
    if task == "sentiment":
        return predictor.predict(["a gorgeous , witty film"])[0]["label"]
    if task == "lm":
        return predictor.generate(["ROMEO:"], max_length=5)[0][0]  # prompt 1, sample 1
    return predictor.translate(["Der Kaffee ist heiß."])[0]


TASKS = {"sentiment": train_sentiment, "lm": train_lm, "translate": train_translation}


@pytest.mark.slow
@pytest.mark.parametrize("task, cell", [("sentiment", "lstm"), ("lm", "lstm"),
                                        ("translate", "gru")])  # both cuDNN cells, every shape
def test_a_pipeline_export_holds_no_cudnn_op_and_serves(tmp_path, task, cell):
    export = TASKS[task](cell, tmp_path / "model")
    types = saved_op_types(export)
    # The recurrent loop is in there (the scan reached the functions), and no cuDNN op.
    assert types & {"While", "StatelessWhile"}, sorted(types)
    assert not {t for t in types if t.startswith("Cudnn")}
    assert isinstance(serve(task, export), str)
