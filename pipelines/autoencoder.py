"""Sequence autoencoder: the translation pipeline's encoder–decoder trained to reproduce its
input.

A variant of ``pipelines.translation`` (same model, training, decoding and export): the target is
the source, there is one vocabulary, and there is no attention, so everything the decoder knows
passes through the encoder's fixed-size summary (Dai & Le, 2015; Srivastava et al., 2015). That
summary is exported as the sentence embedding: ``serving_default`` / ``embed``: text ->
``embedding`` [batch, units x directions]; ``translate`` reconstructs the input.

    from pipelines import autoencoder
    export_dir = autoencoder.train(autoencoder.AutoencoderConfig(), "sentences.txt",
                                   "valid.txt", "saved_models/autoencoder")
    seqtasks.load(export_dir).embed(["a sentence"])
"""

from __future__ import annotations

import functools

import tensorflow as tf

from pipelines.configs import AutoencoderConfig
from pipelines.translation import TEXT, Translation, TranslationData
from seqtasks.export import kinds
from seqtasks.data import in_memory
from seqtasks.data.parallel import ParallelText, read_monolingual
from seqtasks.models.encoder_decoder import Seq2Seq
from seqtasks.task import Splits
from seqtasks.training import lifecycle


# The config dataclass lives in pipelines/configs.py (no TensorFlow there).


def embedding_functions(model: Seq2Seq, data: TranslationData) -> dict:
    """``embed`` (also ``serving_default``): text -> the encoder's summary [batch, size]."""

    @tf.function(autograph=False, input_signature=[TEXT])
    def embed(text):
        return {"embedding": model.encoder(data.source.dense(text), training=False)["summary"]}

    return {"serving_default": embed, "embed": embed}


class Autoencoder(Translation):
    name = "autoencoder"
    kind = kinds.SEQUENCE_AUTOENCODER
    main_score = ("bleu", "max")
    config_class = AutoencoderConfig
    shared_vocabulary = True
    evaluation_plot = None  # no attention: nothing to draw

    def read(self, config, train_path, valid_path) -> Splits:
        """One sentence per line; training lines over ``max_words`` are skipped and counted."""
        return Splits(read_monolingual(train_path, config.max_words), read_monolingual(valid_path))

    def is_data_path(self, value) -> bool:
        """One text file (a list of strings is sentences)."""
        return in_memory.is_path(value)

    def write_examples(self, config, examples, directory, split):
        """Sentences, one a line."""
        return in_memory.text_lines(examples, directory, split)

    def signatures(self, config, model, data) -> dict:
        return {**super().signatures(config, model, data), **embedding_functions(model, data)}

    def read_evaluation(self, data_paths) -> ParallelText:
        return read_monolingual(data_paths)

    # not offered (None: isinstance(task, ProbesGradients) says no): translation's probe reads
    # parallel data. Its attention plot stays: it tells the user the model has no attention.
    gradient_probe = None

    def format_metrics(self, metrics: dict) -> str:
        return (f"reconstruction BLEU {metrics['bleu']:.2f}  chrF {metrics['chrf']:.2f}  exact "
                f"{metrics['exact_match']:.4f}  n {metrics['n']}")


TASK = Autoencoder()
train = functools.partial(lifecycle.train, TASK)  # train(config, train, valid, out_dir)
evaluate = TASK.evaluate  # evaluate(export_dir, data)
