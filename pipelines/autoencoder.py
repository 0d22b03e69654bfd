"""Sequence autoencoder: the translation pipeline's encoder–decoder trained to reproduce its input.

A mode of ``pipelines.translation`` (same model, training, decoding and export): the target is the
source, there is one vocabulary, and there is no attention, so everything the decoder knows passes
through the encoder's fixed-size summary (Dai & Le, 2015; Srivastava et al., 2015). That summary
is exported as the sentence embedding: ``serving_default`` / ``embed``: text -> ``embedding``
[batch, units x directions]; ``translate`` reconstructs the input.

    from pipelines import autoencoder
    export_dir = autoencoder.train(autoencoder.AutoencoderConfig(), "sentences.txt",
                                   "valid.txt", "saved_models/autoencoder")
    seqtasks.load(export_dir).embed(["a sentence"])
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import keras
import tensorflow as tf

from pipelines.translation import TEXT, TaskData, TranslationConfig, fit_and_export, score, \
    task_data
from seqtasks import config as config_lib
from seqtasks.config import choice, option
from seqtasks.data.parallel import Paths, read_monolingual
from seqtasks.training.run_dir import RunDir
from seqtasks.models.encoder_decoder import Seq2Seq

TASK = "autoencoder"


@dataclasses.dataclass
class AutoencoderConfig(TranslationConfig):
    attention: str = choice("none", ("none",), "none: an autoencoder with attention could copy "
                            "its input without compressing it into the embedding")
    cell: str = choice("lstm", config_lib.CELLS, "recurrent cell of encoder and decoder")
    beam_size: int = option(1, "hypotheses kept by beam search in reconstructions (1: greedy)")


CONFIG = AutoencoderConfig


def format_metrics(metrics: dict) -> str:
    return (f"reconstruction BLEU {metrics['bleu']:.2f}  chrF {metrics['chrf']:.2f}  exact "
            f"{metrics['exact_match']:.4f}  n {metrics['n']}")


def embedding_functions(model: Seq2Seq, data: TaskData) -> dict:
    """``embed`` (also ``serving_default``): text -> the encoder's summary [batch, size]."""

    @tf.function(autograph=False, input_signature=[TEXT])
    def embed(text):
        return {"embedding": model.encoder(data.source.dense(text), training=False)["summary"]}

    return {"serving_default": embed, "embed": embed}


def train(config: AutoencoderConfig, train_path: Paths, valid_path: Paths, out_dir,
          verbose="auto") -> Path:
    """Fit on the sentences of ``train_path`` (one per line), early-stop on the validation loss,
    score reconstructions of ``valid_path``, export under ``out_dir``; returns the version dir."""
    train_lines = read_monolingual(train_path, config.max_words)
    valid_lines = read_monolingual(valid_path)
    run = RunDir(out_dir)
    resumed = run.start(config)
    keras.utils.set_random_seed(config.seed)
    data = task_data(config, train_lines, valid_lines, run, resumed, shared=True)
    return fit_and_export(config, data, run, TASK, verbose, embedding_functions)


def evaluate(export_dir, data_path: Paths, version: int | None = None,
             plot: str | Path | None = None, beam_size: int | None = None) -> dict:
    """Reconstruction BLEU, chrF and exact matches on the sentences of ``data_path`` (``plot``
    is accepted for the CLI's sake: without attention there is nothing to draw)."""
    from seqtasks.inference.load import load

    return score(load(export_dir, version), read_monolingual(data_path), beam_size=beam_size)
