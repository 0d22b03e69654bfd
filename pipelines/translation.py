"""Translation (many-to-many, different lengths): a sentence in, its translation out.

Setup -> Config -> Data -> Build -> Train -> Export -> Evaluate, top to bottom. An attentional
encoder–decoder (Bahdanau et al., 2015; Luong et al., 2015) on WordPiece subwords learned per
language: recurrent encoder, recurrent decoder attending over the encoder states (or not:
``attention=none`` is the fixed-context baseline), teacher forcing or scheduled sampling, label
smoothing; greedy or beam-search decoding inside the exported graph.

    from pipelines import translation
    config = translation.TranslationConfig(epochs=5)
    export_dir = translation.train(config, ("train.de", "train.en"), ("val.de", "val.en"),
                                   "saved_models/de-en")
    print(translation.evaluate(export_dir, ("val.de", "val.en")))
"""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path

import keras
import tensorflow as tf

from seqtasks import config as config_lib
from seqtasks.inference.decoding_predictors import translate_texts
from seqtasks.config import TextConfig, TrainConfig, choice, option
from seqtasks.data.parallel import ParallelText, Paths, read_parallel
from seqtasks.data.pipeline import parallel_dataset
from seqtasks.decoding.encoder_decoder_loop import Seq2SeqDecoder
from seqtasks.errors import ModelError
from seqtasks.export.savedmodel import export_savedmodel
from seqtasks.evaluation.metrics import translation_metrics
from seqtasks.evaluation.plots import attention_png, learning_curves_png
from seqtasks.training.run_dir import RunDir
from seqtasks.training.scheduled_sampling import ScheduledSamplingConfig, sampling_callbacks
from seqtasks.models.encoder_decoder import (DecodingConfig, Seq2Seq, Seq2SeqConfig, build_seq2seq,
                              compile_seq2seq)
from seqtasks.text import Vocabulary
from seqtasks.text.encoder import TextEncoder
from seqtasks.text.learn import learn_vocabulary
from seqtasks.text.vocab import EOS_ID
from seqtasks.training.fit import Throughput, fit

TASK = "translate"
TEXT = tf.TensorSpec([None], tf.string, name="text")


# --- Config ------------------------------------------------------------------------------------

@dataclasses.dataclass
class TranslationConfig(TrainConfig, DecodingConfig, ScheduledSamplingConfig, Seq2SeqConfig,
                        TextConfig):
    level: str = choice("wordpiece", ("wordpiece", "word"), "WordPiece subwords or words")
    lowercase: bool = option(False, "case-fold both languages (BLEU is then case-insensitive)")
    max_vocab_size: int = option(6000, "vocabulary size of each language")
    max_length: int = option(64, "tokens kept per sentence; outputs stop there too")
    max_words: int | None = option(50, "skip training pairs with more words on either side")
    embedding_dim: int = option(256, "size of the token embeddings")
    cell: str = choice("gru", config_lib.CELLS, "recurrent cell of encoder and decoder")
    units: int = option(128, "encoder units per direction and layer (the decoder is twice as "
                             "wide when bidirectional, see decoder_units)")
    dropout: float = option(0.2, "dropout on embeddings, between layers and before the output")
    batch_size: int = option(64, "sentence pairs per batch")


CONFIG = TranslationConfig


def format_metrics(metrics: dict) -> str:
    """Human-readable evaluation summary for the CLI."""
    return (f"BLEU {metrics['bleu']:.2f}  chrF {metrics['chrf']:.2f}  exact "
            f"{metrics['exact_match']:.4f}  n {metrics['n']}  beam {metrics['beam_size']}\n"
            f"{metrics['bleu_signature']}\n{metrics['chrf_signature']}")


# --- Data --------------------------------------------------------------------------------------

@dataclasses.dataclass
class TaskData:
    train: ParallelText
    valid: ParallelText
    source: TextEncoder
    target: TextEncoder


def task_data(config: TranslationConfig, train: ParallelText, valid: ParallelText,
              run: RunDir | None = None, resumed: bool = False, shared: bool = False) -> TaskData:
    """Learn (or, when resuming, reload) the vocabularies: one per language, or one ``shared``."""
    names = ("source_vocab.txt", "target_vocab.txt")
    if resumed and run is not None:
        source_vocab, target_vocab = (Vocabulary.load(run.path(name)) for name in names)
    else:
        def learn(texts):
            return learn_vocabulary(texts, config.level, config.lowercase, config.max_vocab_size,
                                    config.min_count)

        source_vocab = learn(train.sources)
        target_vocab = source_vocab if shared else learn(train.targets)
        if run is not None:
            source_vocab.save(run.path(names[0]))
            target_vocab.save(run.path(names[1]))

    def encoder(vocabulary):
        return TextEncoder(vocabulary, config.level, config.lowercase, config.max_length)

    return TaskData(train, valid, encoder(source_vocab), encoder(target_vocab))


def datasets(config: TranslationConfig, data: TaskData):
    def make(split: ParallelText, shuffle: bool):
        return parallel_dataset(split.sources, split.targets, data.source, data.target,
                                config.batch_size, config.max_length, shuffle, config.seed,
                                config.bucket_by_length)

    return make(data.train, shuffle=True), make(data.valid, shuffle=False)


# --- Build -------------------------------------------------------------------------------------

def build(config: TranslationConfig, source_vocab_size: int, target_vocab_size: int) -> Seq2Seq:
    """(source ids, decoder input ids) -> target logits, compiled with the smoothed loss."""
    return compile_seq2seq(build_seq2seq(config, source_vocab_size, target_vocab_size,
                                         scheduled_sampling=config.sampling_schedule != "none",
                                         seed=config.seed, name="translator"), config)


# --- Export ------------------------------------------------------------------------------------

def serving_functions(model: Seq2Seq, data: TaskData, config: TranslationConfig) -> dict:
    """``serving_default``: text -> translation (config's beam size and length penalty);
    ``translate``: text, beam_size, length_penalty -> translation; with attention also
    ``attention``: text, beam_size -> translation, tokens and weights [batch, output, source].
    All three call one traced ``decode`` function, so the decoding loops are built once; all are
    traced with autograph off, as the export traces them."""
    decoder = Seq2SeqDecoder(model, config.max_output_ratio, config.max_output_offset,
                             config.max_length)
    beam_size_spec = tf.TensorSpec([], tf.int32, name="beam_size")

    @tf.function(autograph=False, input_signature=[
        TEXT, beam_size_spec, tf.TensorSpec([], tf.float32, name="length_penalty")])
    def decode(text, beam_size, length_penalty):
        source_ids = data.source.dense(text)
        ids, lengths = decoder(source_ids, beam_size, length_penalty)
        translation = data.target.decode(tf.RaggedTensor.from_tensor(ids, lengths=lengths))
        return {"translation": translation, "source_ids": source_ids, "ids": ids,
                "lengths": lengths}

    @tf.function(autograph=False, input_signature=[TEXT])
    def serving_default(text):
        out = decode(text, tf.constant(config.beam_size), tf.constant(config.length_penalty))
        return {"translation": out["translation"]}

    @tf.function(autograph=False, input_signature=decode.input_signature)
    def translate(text, beam_size, length_penalty):
        return {"translation": decode(text, beam_size, length_penalty)["translation"]}

    @tf.function(autograph=False, input_signature=[TEXT, beam_size_spec])
    def attention(text, beam_size):
        out = decode(text, beam_size, tf.constant(config.length_penalty))
        eos = tf.fill([tf.shape(out["ids"])[0], 1], EOS_ID)
        source_tokens = data.source.tokens(text)
        return {"translation": out["translation"],
                "source_tokens": source_tokens.to_tensor(""),
                "source_length": tf.cast(source_tokens.row_lengths(), tf.int32),
                "output_tokens": data.target.lookup.tokens(tf.concat([out["ids"], eos], 1)),
                "output_length": out["lengths"] + 1,
                "weights": decoder.attention(out["source_ids"], out["ids"])}

    functions = {"serving_default": serving_default, "translate": translate}
    if config.attention != "none":
        functions["attention"] = attention
    return functions


def export(model: Seq2Seq, data: TaskData, config: TranslationConfig, out_dir, functions: dict,
           metadata: dict, work_dir: Path) -> Path:
    vocab_paths = {"source_vocab.txt": work_dir / "source_vocab.txt",
                   "target_vocab.txt": work_dir / "target_vocab.txt"}
    data.source.vocabulary.save(vocab_paths["source_vocab.txt"])
    data.target.vocabulary.save(vocab_paths["target_vocab.txt"])
    metadata = {"config": config_lib.to_dict(config),
                "source_vocab_size": len(data.source.vocabulary),
                "target_vocab_size": len(data.target.vocabulary), **metadata}
    return export_savedmodel(out_dir, model.trainer, data.source.resources + data.target.resources,
                             functions, metadata, asset_files=vocab_paths)


# --- Train -------------------------------------------------------------------------------------

def train(config: TranslationConfig, train_paths: Paths, valid_paths: Paths, out_dir,
          verbose="auto") -> Path:
    """Fit on ``train_paths`` (a TSV, or source and target files; pairs over ``max_words`` are
    skipped and counted), early-stop on the validation loss, score BLEU on ``valid_paths`` and
    export under ``out_dir``; returns the version dir. An interrupted run resumes when called
    again with the same arguments."""
    train_pairs = read_parallel(train_paths, config.max_words)  # bad data: fail before writing
    valid_pairs = read_parallel(valid_paths)  # every validation pair is scored
    run = RunDir(out_dir)
    resumed = run.start(config)
    keras.utils.set_random_seed(config.seed)
    data = task_data(config, train_pairs, valid_pairs, run, resumed)
    return fit_and_export(config, data, run, TASK, verbose)


def fit_and_export(config: TranslationConfig, data: TaskData, run: RunDir, task: str, verbose,
                   extra_functions=None) -> Path:
    """Train, decode the validation sources, export. ``extra_functions(model, data)`` adds
    signatures (a task variant's; one named ``serving_default`` replaces ours)."""
    if data.train.skipped["blank"] or data.train.skipped["too_long"]:
        print(f"{data.train.path}: skipped {data.train.skipped['blank']} blank and "
              f"{data.train.skipped['too_long']} pairs over max_words={config.max_words}",
              file=sys.stderr)
    train_ds, valid_ds = datasets(config, data)
    model = build(config, len(data.source.vocabulary), len(data.target.vocabulary))
    throughput = Throughput()
    callbacks = [throughput] + sampling_callbacks(model.decoder.sampling_probability, config)
    summary = fit(model.trainer, train_ds, valid_ds, config, run.resume, run.logs,
                  callbacks=callbacks, verbose=verbose)
    # Target tokens (with [EOS]) per training second; a time budget may end an epoch early.
    target_ids = data.target(tf.constant(data.train.targets))
    tokens_per_batch = (int(tf.reduce_sum(target_ids.row_lengths())) + len(data.train)) / max(
        sum(1 for _ in train_ds), 1)
    summary.update(train_pairs=len(data.train), skipped_pairs=data.train.skipped,
                   train_tokens_per_second=round(tokens_per_batch * throughput.batches
                                                 / max(throughput.seconds, 1e-9), 1))

    functions = serving_functions(model, data, config)
    if extra_functions is not None:
        functions.update(extra_functions(model, data))
    hypotheses = translate_texts(functions["translate"], data.valid.sources, config.beam_size,
                                 config.length_penalty)
    metrics = {**translation_metrics(data.valid.targets, hypotheses, config.lowercase),
               "beam_size": config.beam_size, "data": data.valid.path}
    export_dir = export(model, data, config, run.root, functions,
                        {"task": task, "metrics": metrics, "training": summary,
                         "embedding_size": int(model.encoder.output["summary"].shape[-1])},
                        run.resume)
    learning_curves_png(summary["history"], export_dir / "learning_curves.png")
    run.finish()
    return export_dir


# --- Evaluate ----------------------------------------------------------------------------------

def evaluate(export_dir, data_paths: Paths, version: int | None = None,
             plot: str | Path | None = None, beam_size: int | None = None) -> dict:
    """BLEU, chrF (sacrebleu) and exact matches of an export's translations of a parallel file;
    ``plot``: the attention heatmap of its first sentence."""
    from seqtasks.inference.load import load

    return score(load(export_dir, version), read_parallel(data_paths), plot, beam_size)


def score(predictor, data: ParallelText, plot: str | Path | None = None,
          beam_size: int | None = None) -> dict:
    start = time.monotonic()
    hypotheses = predictor.translate(data.sources, beam_size=beam_size)
    seconds = time.monotonic() - start
    config = predictor.metadata["config"]
    metrics = translation_metrics(data.targets, hypotheses, config["lowercase"])
    metrics.update(beam_size=beam_size or config["beam_size"], predict_seconds=round(seconds, 3))
    if plot:
        attention_plot(predictor, data.sources[0], plot)
    return metrics


def attention_plot(predictor, text: str, path: str | Path, beam_size: int = 1) -> Path:
    """The attention heatmap of ``text``'s translation (rows: output tokens, then [EOS])."""
    if not hasattr(predictor, "attention"):
        raise ModelError(f"{predictor.export_dir} is a {predictor.task} model; attention plots "
                         "need a translation model (seqtasks train translate)")
    row = predictor.attention([text], beam_size=beam_size)[0]
    return attention_png(row["weights"], row["source_tokens"], row["output_tokens"], path,
                         title=f"{row['translation']}")


# --- Diagnose ----------------------------------------------------------------------------------

def gradient_probe(export_dir, data_paths: Paths, batch_size: int = 16):
    """For ``seqtasks diagnose``: the export's encoder–decoder, and the first ``batch_size`` pairs
    of ``data_paths`` with the training loss (teacher forcing); the states probed are the
    encoder's, over source positions."""
    from seqtasks.diagnostics.flow import GradientProbe
    from seqtasks.export.layout import read_metadata
    from seqtasks.training.losses import SmoothedSparseCrossentropy

    metadata = read_metadata(export_dir)
    config = config_lib.from_dict(CONFIG, metadata["config"])
    pairs = read_parallel(data_paths)
    source, target = (TextEncoder(Vocabulary.load(Path(export_dir) / "assets" / name),
                                  config.level, config.lowercase, config.max_length)
                      for name in ("source_vocab.txt", "target_vocab.txt"))
    inputs, targets, weights = next(iter(parallel_dataset(
        pairs.sources[:batch_size], pairs.targets[:batch_size], source, target, batch_size,
        config.max_length, shuffle=False, seed=config.seed, bucket_by_length=False)))
    loss = SmoothedSparseCrossentropy(config.label_smoothing)
    return GradientProbe(
        lambda: build(config, metadata["source_vocab_size"], metadata["target_vocab_size"]).trainer,
        inputs, lambda logits: loss(targets, logits, sample_weight=weights),
        positions="source position t")
