"""Image captioning (one to many, multimodal): an image in, a sentence about it out.

Setup -> Config -> Data -> Build -> Train -> Export -> Evaluate, top to bottom. "Show, attend and
tell" (Xu et al., 2015) on the translation model's parts: the recurrent text encoder is swapped
for a small CNN whose H x W feature grid is the memory (``seqtasks.layers.image_encoder``); the
decoder, its attention over that memory, scheduled sampling and greedy / beam decoding are the
shared ones (``seqtasks.models.encoder_decoder.attach_decoder``, ``seqtasks.decoding.encoder_decoder_loop``).
``attention=none`` is the CNN+RNN baseline that only sees the pooled grid (Vinyals et al., 2015).
Images are decoded and resized inside the graph, so the export takes encoded bytes.

    from pipelines import caption
    export_dir = caption.train(caption.CaptionConfig(), "digits/train.tsv", "digits/valid.tsv",
                               "saved_models/digits")
    print(caption.evaluate(export_dir, "digits/test.tsv"))
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from seqtasks import config as config_lib
from seqtasks.inference.decoding_predictors import caption_images, read_images
from seqtasks.config import TrainConfig, choice, option
from seqtasks.data.captions import Captions, read_captions
from seqtasks.data.images import decode_images
from seqtasks.data.pipeline import image_caption_dataset
from seqtasks.decoding.encoder_decoder_loop import Seq2SeqDecoder
from seqtasks.errors import ConfigError, ModelError
from seqtasks.export.savedmodel import export_savedmodel
from seqtasks.layers.attention import ATTENTION_CHOICES
from seqtasks.layers.image_encoder import grid_size, image_encoder
from seqtasks.evaluation.metrics import caption_metrics
from seqtasks.evaluation.plots import attention_maps_png, learning_curves_png
from seqtasks.training.run_dir import RunDir
from seqtasks.training.scheduled_sampling import ScheduledSamplingConfig, sampling_callbacks
from seqtasks.models.encoder_decoder import BeamConfig, Seq2Seq, attach_decoder, compile_seq2seq
from seqtasks.text import Vocabulary
from seqtasks.text.encoder import TextEncoder
from seqtasks.text.learn import learn_vocabulary
from seqtasks.text.vocab import EOS_ID
from seqtasks.training.fit import Throughput, fit

TASK = "caption"
IMAGE = tf.TensorSpec([None], tf.string, name="image_bytes")
VOCAB_FILE = "caption_vocab.txt"


# --- Config ------------------------------------------------------------------------------------

@dataclasses.dataclass
class CaptionConfig(TrainConfig, BeamConfig, ScheduledSamplingConfig):
    # Image size and CNN fit the bundled digit-reading set; raise both for real photographs.
    image_height: int = option(20, "images are resized to this height (pixels)")
    image_width: int = option(56, "images are resized to this width (pixels)")
    filters: str = option("32,64", "CNN widths, comma-separated: one conv block and one 2x2 "
                                   "pooling each, so 2 blocks give an H/4 x W/4 grid")
    position_embedding: bool = option(True, "add a learned vector per grid cell to the memory")
    global_context: str = choice("none", ("none", "max", "mean"), "start the decoder from the "
                                 "grid's max- or mean-pooled vector (none: a learned constant; "
                                 "attention=none needs one)")
    embedding_dim: int = option(64, "size of the word embeddings")
    cell: str = choice("gru", config_lib.CELLS, "recurrent cell of the decoder")
    units: int = option(256, "decoder units")
    attention: str = choice("bahdanau", ATTENTION_CHOICES, "decoder attention over the grid "
                            "(none: the decoder sees only the global context vector)")
    attention_units: int = option(128, "hidden units of Bahdanau's scoring layer")
    attention_penalty: float = option(0.0, "weight of the doubly stochastic attention penalty "
                                           "(every grid cell attended about once; 0: off)")
    dropout: float = option(0.1, "dropout on the grid, the word embeddings and the output")
    label_smoothing: float = option(0.0, "target probability spread over the whole vocabulary")
    lowercase: bool = option(True, "case-fold captions")
    max_vocab_size: int = option(10000, "caption vocabulary size")
    min_count: int = option(1, "words seen fewer times become [UNK]")
    max_length: int = option(32, "caption words kept in training; generated captions stop there")
    export_attention: bool = option(False, "serving_default also returns the attention maps")
    batch_size: int = option(64, "images per batch")
    epochs: int = option(30, "maximum passes over the training data")
    learning_rate: float = option(3e-3, "initial learning rate")
    beam_size: int = option(3, "hypotheses kept by beam search (1: greedy decoding)")
    length_penalty: float = option(0.0, "GNMT length-penalty alpha when ranking beams (0: none)")


CONFIG = CaptionConfig


def filter_widths(config: CaptionConfig) -> tuple[int, ...]:
    try:
        widths = tuple(int(width) for width in config.filters.split(","))
    except ValueError:
        widths = ()
    if not widths or min(widths) < 1:
        raise ConfigError(f"filters must be positive integers separated by commas, e.g. "
                          f"32,64,128; got '{config.filters}'")
    grid = grid_size(config.image_height, config.image_width, len(widths))
    if min(grid) < 1:
        raise ConfigError(f"{len(widths)} pooling blocks leave no grid from "
                          f"{config.image_height}x{config.image_width} images: fewer filters "
                          "or larger images")
    return widths


def format_metrics(metrics: dict) -> str:
    """Human-readable evaluation summary for the CLI."""
    return (f"BLEU-4 {metrics['bleu']:.2f}  exact {metrics['exact_match']:.4f}  images "
            f"{metrics['n']}  beam {metrics['beam_size']}\n{metrics['bleu_signature']}")


# --- Data --------------------------------------------------------------------------------------

@dataclasses.dataclass
class TaskData:
    train: Captions
    valid: Captions
    target: TextEncoder


def task_data(config: CaptionConfig, train: Captions, valid: Captions, run: RunDir | None = None,
              resumed: bool = False) -> TaskData:
    """Learn (or, when resuming, reload) the caption vocabulary."""
    if resumed and run is not None:
        vocabulary = Vocabulary.load(run.path(VOCAB_FILE))
    else:
        vocabulary = learn_vocabulary(train.captions, "word", config.lowercase,
                                      config.max_vocab_size, config.min_count)
        if run is not None:
            vocabulary.save(run.path(VOCAB_FILE))
    return TaskData(train, valid, TextEncoder(vocabulary, "word", config.lowercase,
                                              config.max_length))


def image_decoder(config: CaptionConfig):
    """Encoded bytes [batch] -> float images [batch, height, width, 3] (training and export)."""
    return lambda encoded: decode_images(encoded, config.image_height, config.image_width)


def datasets(config: CaptionConfig, data: TaskData):
    def make(split: Captions, shuffle: bool):
        return image_caption_dataset(split.images, split.captions, image_decoder(config),
                                     data.target, config.batch_size, shuffle, config.seed)

    return make(data.train, shuffle=True), make(data.valid, shuffle=False)


# --- Build -------------------------------------------------------------------------------------

def build(config: CaptionConfig, vocab_size: int) -> Seq2Seq:
    """(images [batch, H, W, 3], decoder input ids) -> caption logits, compiled."""
    if config.attention == "none" and config.global_context == "none":
        raise ConfigError("attention=none with global_context=none leaves the decoder blind: "
                          "set global_context=max or mean")
    images = keras.Input(shape=(config.image_height, config.image_width, 3), name="images")
    encoded = image_encoder(images, filter_widths(config), config.dropout,
                            config.position_embedding, config.global_context, config.seed)
    model = attach_decoder(images, encoded, config, config.units, vocab_size,
                           scheduled_sampling=config.sampling_schedule != "none",
                           seed=config.seed, name="captioner",
                           attention_penalty=config.attention_penalty)
    return compile_seq2seq(model, config)


# --- Export ------------------------------------------------------------------------------------

def serving_functions(model: Seq2Seq, data: TaskData, config: CaptionConfig) -> dict:
    """``serving_default``: image_bytes -> caption, tokens, length (the config's beam size; with
    ``export_attention`` also the attention maps); ``caption``: image_bytes, beam_size,
    length_penalty -> the same; with attention also ``attention``: image_bytes, beam_size ->
    caption, output_tokens (ending in [EOS]), output_length, attention [batch, output, grid
    height, grid width]. All call one traced ``decode``; traced with autograph off, as the
    export traces them."""
    # Every image may have max_length words: ratio 0, offset max_length.
    decoder = Seq2SeqDecoder(model, 0.0, config.max_length, config.max_length)
    grid = grid_size(config.image_height, config.image_width, len(filter_widths(config)))
    decode_bytes = image_decoder(config)
    beam_size_spec = tf.TensorSpec([], tf.int32, name="beam_size")

    @tf.function(autograph=False, input_signature=[
        IMAGE, beam_size_spec, tf.TensorSpec([], tf.float32, name="length_penalty")])
    def decode(image_bytes, beam_size, length_penalty):
        images = decode_bytes(image_bytes)
        ids, lengths = decoder(images, beam_size, length_penalty)
        words = tf.RaggedTensor.from_tensor(ids, lengths=lengths)
        return {"caption": data.target.decode(words),
                "tokens": data.target.lookup.tokens(words).to_tensor(""), "length": lengths,
                "images": images, "ids": ids}

    def attention_maps(out):
        eos = tf.fill([tf.shape(out["ids"])[0], 1], EOS_ID)
        weights = decoder.attention(out["images"], out["ids"])
        return {"output_tokens": data.target.lookup.tokens(tf.concat([out["ids"], eos], 1)),
                "output_length": out["length"] + 1,
                "attention": tf.reshape(weights, [tf.shape(weights)[0], tf.shape(weights)[1],
                                                  *grid])}

    def public(out, maps: bool):
        result = {key: out[key] for key in ("caption", "tokens", "length")}
        return {**result, **attention_maps(out)} if maps else result

    with_maps = config.export_attention and config.attention != "none"

    @tf.function(autograph=False, input_signature=[IMAGE])
    def serving_default(image_bytes):
        return public(decode(image_bytes, tf.constant(config.beam_size),
                             tf.constant(config.length_penalty)), with_maps)

    @tf.function(autograph=False, input_signature=decode.input_signature)
    def caption(image_bytes, beam_size, length_penalty):
        return public(decode(image_bytes, beam_size, length_penalty), False)

    @tf.function(autograph=False, input_signature=[IMAGE, beam_size_spec])
    def attention(image_bytes, beam_size):
        out = decode(image_bytes, beam_size, tf.constant(config.length_penalty))
        return {"caption": out["caption"], **attention_maps(out)}

    functions = {"serving_default": serving_default, "caption": caption}
    if config.attention != "none":
        functions["attention"] = attention
    return functions


def export(model: Seq2Seq, data: TaskData, config: CaptionConfig, out_dir, functions: dict,
           metadata: dict, work_dir: Path) -> Path:
    vocab_path = work_dir / VOCAB_FILE
    data.target.vocabulary.save(vocab_path)
    metadata = {"config": config_lib.to_dict(config), "vocab_size": len(data.target.vocabulary),
                "grid": list(grid_size(config.image_height, config.image_width,
                                       len(filter_widths(config)))), **metadata}
    return export_savedmodel(out_dir, model.trainer, data.target.resources, functions, metadata,
                             asset_files={VOCAB_FILE: vocab_path})


# --- Train -------------------------------------------------------------------------------------

def train(config: CaptionConfig, train_path, valid_path, out_dir, verbose="auto",
          images: str | Path | None = None) -> Path:
    """Fit on the captions of ``train_path`` (images in ``images``, default: beside the file),
    early-stop on the validation loss, score BLEU-4 / exact match on ``valid_path`` and export
    under ``out_dir``; returns the version dir. An interrupted run resumes when called again."""
    filter_widths(config)  # bad config or data: fail before writing
    train_captions = read_captions(train_path, images)
    valid_captions = read_captions(valid_path, images)
    run = RunDir(out_dir)
    resumed = run.start(config)
    keras.utils.set_random_seed(config.seed)
    data = task_data(config, train_captions, valid_captions, run, resumed)
    train_ds, valid_ds = datasets(config, data)
    model = build(config, len(data.target.vocabulary))
    throughput = Throughput()
    summary = fit(model.trainer, train_ds, valid_ds, config, run.resume, run.logs,
                  callbacks=[throughput, *sampling_callbacks(model.decoder.sampling_probability,
                                                             config)], verbose=verbose)
    summary.update(train_captions=len(data.train), train_images_per_second=round(
        config.batch_size * throughput.batches / max(throughput.seconds, 1e-9), 1))

    functions = serving_functions(model, data, config)
    paths, references = data.valid.references()
    hypotheses = caption_images(functions["caption"], read_images(paths), config.beam_size,
                                config.length_penalty)
    metrics = {**caption_metrics(references, hypotheses), "beam_size": config.beam_size,
               "data": data.valid.path}
    export_dir = export(model, data, config, run.root, functions,
                        {"task": TASK, "metrics": metrics, "training": summary}, run.resume)
    learning_curves_png(summary["history"], export_dir / "learning_curves.png")
    run.finish()
    return export_dir


# --- Evaluate ----------------------------------------------------------------------------------

def evaluate(export_dir, data_path, images: str | Path | None = None, version: int | None = None,
             plot: str | Path | None = None, beam_size: int | None = None) -> dict:
    """BLEU-4 and exact match of an export's captions of the images in ``data_path`` (each image
    once, against all its captions); ``plot``: the attention maps of its first image."""
    from seqtasks.inference.load import load

    return score(load(export_dir, version), read_captions(data_path, images), plot, beam_size)


def score(predictor, data: Captions, plot: str | Path | None = None,
          beam_size: int | None = None) -> dict:
    paths, references = data.references()
    start = time.monotonic()
    hypotheses = predictor.caption(paths, beam_size=beam_size)
    seconds = time.monotonic() - start
    metrics = caption_metrics(references, hypotheses)
    metrics.update(beam_size=beam_size or predictor.metadata["config"]["beam_size"],
                   images_per_second=round(len(paths) / max(seconds, 1e-9), 1))
    if plot:
        attention_plot(predictor, paths[0], plot)
    return metrics


def attention_plot(predictor, image: str | Path, path: str | Path, beam_size: int = 1) -> Path:
    """One panel per generated word (and [EOS]): the attention map over ``image``."""
    from PIL import Image

    if not hasattr(predictor, "caption"):
        raise ModelError(f"{predictor.export_dir} is a {predictor.task} model; image attention "
                         "plots need a caption model (seqtasks train caption)")
    row = predictor.attention([str(image)], beam_size=beam_size)[0]
    with Image.open(image) as opened:
        pixels = np.asarray(opened.convert("RGB"))
    return attention_maps_png(pixels, row["attention"], row["output_tokens"], path,
                              title=row["caption"])
