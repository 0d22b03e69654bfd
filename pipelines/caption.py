"""Image captioning (one to many, multimodal): an image in, a sentence about it out.

Config -> Data -> Build -> Export -> the Task, top to bottom. "Show, attend and
tell" (Xu et al., 2015) on the translation model's parts: the recurrent text encoder is swapped
for a small CNN whose H x W feature grid is the memory (``seqtasks.layers.image_encoder``); the
decoder, its attention over that memory, scheduled sampling and greedy / beam decoding are the
shared ones (``seqtasks.models.encoder_decoder.attach_decoder``,
``seqtasks.decoding.encoder_decoder_loop``).
``attention=none`` is the CNN+RNN baseline that only sees the pooled grid (Vinyals et al., 2015).
Images are decoded and resized inside the graph, so the export takes encoded bytes.

    from pipelines import caption
    export_dir = caption.train(caption.CaptionConfig(), "digits/train.tsv", "digits/valid.tsv",
                               "saved_models/digits")
    print(caption.evaluate(export_dir, "digits/test.tsv"))
"""

from __future__ import annotations

import dataclasses
import functools
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from pipelines.configs import CaptionConfig
from seqtasks.export import kinds
from seqtasks.data.captions import Captions, read_captions
from seqtasks.data.images import decode_images
from seqtasks.data.batching import image_caption_dataset
from seqtasks.decoding.encoder_decoder_loop import Seq2SeqDecoder
from seqtasks.errors import ConfigError
from seqtasks.evaluation.metrics import caption_metrics
from seqtasks.evaluation.plots import attention_maps_png
from seqtasks.data.images import read_images
from seqtasks.inference.predictors.captioner import caption_images
from seqtasks.layers.image_encoder import grid_size, image_encoder
from seqtasks.models.encoder_decoder import Seq2Seq, attach_decoder
from seqtasks.task import Built, ExportAssets, Prepared, Splits
from seqtasks.text.encoder import TextEncoder
from seqtasks.text.learn import learn_vocabulary
from seqtasks.text.vocab import EOS_ID, unknown_share
from seqtasks.task.encoder_decoder import EncoderDecoderTask
from seqtasks.training import lifecycle

IMAGE = tf.TensorSpec([None], tf.string, name="image_bytes")
VOCAB_FILE = "caption_vocab.txt"


# --- Config ------------------------------------------------------------------------------------

# The config dataclass lives in pipelines/configs.py (no TensorFlow there).


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


def check_config(config: CaptionConfig) -> None:
    filter_widths(config)
    if config.attention == "none" and config.global_context == "none":
        raise ConfigError("attention=none with global_context=none leaves the decoder blind: "
                          "set global_context=max or mean")


# --- Data --------------------------------------------------------------------------------------

@dataclasses.dataclass
class CaptionData:
    train: Captions
    valid: Captions
    target: TextEncoder


def image_decoder(config: CaptionConfig):
    """Encoded bytes [batch] -> float images [batch, height, width, 3] (training and export)."""
    return lambda encoded: decode_images(encoded, config.image_height, config.image_width)


# --- Build -------------------------------------------------------------------------------------

def build(config: CaptionConfig, vocab_size: int) -> Seq2Seq:
    """(images [batch, H, W, 3], decoder input ids) -> caption logits."""
    check_config(config)
    images = keras.Input(shape=(config.image_height, config.image_width, 3), name="images")
    encoded = image_encoder(images, filter_widths(config), config.dropout,
                            config.position_embedding, config.global_context, config.seed)
    return attach_decoder(images, encoded, config, config.units, vocab_size,
                           scheduled_sampling=config.sampling_schedule != "none",
                           seed=config.seed, name="captioner",
                           attention_penalty=config.attention_penalty)


# --- Export ------------------------------------------------------------------------------------

def serving_functions(model: Seq2Seq, data: CaptionData, config: CaptionConfig) -> dict:
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


def attention_plot(predictor, image: str | Path, path: str | Path, beam_size: int = 1) -> Path:
    """One panel per generated word (and [EOS]): the attention map over ``image``."""
    from PIL import Image

    row = predictor.attention([str(image)], beam_size=beam_size)[0]
    with Image.open(image) as opened:
        pixels = np.asarray(opened.convert("RGB"))
    return attention_maps_png(pixels, row["attention"], row["output_tokens"], path,
                              title=row["caption"])


# --- The task ----------------------------------------------------------------------------------

class Caption(EncoderDecoderTask[CaptionConfig, CaptionData]):
    name = "caption"
    kind = kinds.CAPTIONER
    main_score = ("bleu", "max")
    config_class = CaptionConfig
    throughput_unit = "images"
    evaluation_plot = "attention maps of the first image"

    def check(self, config) -> None:
        check_config(config)

    def read(self, config, train_path, valid_path, images: str | Path | None = None) -> Splits:
        """Captions files naming images in ``images`` (default: beside each file)."""
        return Splits(read_captions(train_path, images), read_captions(valid_path, images))

    def prepare(self, config, splits, run) -> Prepared:
        """The caption vocabulary."""
        return {"caption_vocab": learn_vocabulary(splits.train.captions, "word", config.lowercase,
                                                  config.max_vocab_size, config.min_count)}

    def data(self, config, splits, prepared, run) -> CaptionData:
        return CaptionData(splits.train, splits.valid, TextEncoder(
            prepared["caption_vocab"], "word", config.lowercase, config.max_length))

    def datasets(self, config, data):
        def make(split: Captions, shuffle: bool):
            return image_caption_dataset(split.images, split.captions, image_decoder(config),
                                         data.target, config.batch_size, shuffle, config.seed)

        return make(data.train, shuffle=True), make(data.valid, shuffle=False)

    def training_units(self, config, data) -> int:
        return len(data.train)  # (image, caption) pairs

    def data_summary(self, config, data) -> dict:
        return {"train_captions": len(data.train)}

    def validation_unknown_share(self, config, data) -> float:
        return unknown_share(data.target(tf.constant(data.valid.captions)))

    def build(self, config, data) -> Built:
        return Built(build(config, len(data.target.vocabulary)))

    def signatures(self, config, model, data) -> dict:
        return serving_functions(model, data, config)

    def validation_metrics(self, config, data, signatures) -> dict:
        paths, references = data.valid.references()
        hypotheses = caption_images(signatures["caption"], read_images(paths), config.beam_size,
                                    config.length_penalty)
        return {**caption_metrics(references, hypotheses), "beam_size": config.beam_size}

    def warmup_examples(self, config, data) -> list:
        """The export takes encoded images: the first validation images warm it up."""
        return read_images(data.valid.references()[0][:3])

    def export_assets(self, config, model, data, work_dir) -> ExportAssets:
        vocab_path = work_dir / VOCAB_FILE
        data.target.vocabulary.save(vocab_path)
        grid = grid_size(config.image_height, config.image_width, len(filter_widths(config)))
        return ExportAssets(data.target.resources, {VOCAB_FILE: vocab_path},
                            {"vocab_size": len(data.target.vocabulary), "grid": list(grid)})

    def score(self, predictor, data_path, plot, images: str | Path | None = None,
              beam_size: int | None = None) -> dict:
        """BLEU-4 and exact match of the export's captions of the images in ``data_path`` (each
        image once, against all its captions); ``plot``: the attention maps of its first image."""
        data = read_captions(data_path, images)
        paths, references = data.references()
        start = time.monotonic()
        hypotheses = predictor.caption(paths, beam_size=beam_size)
        seconds = time.monotonic() - start
        metrics = caption_metrics(references, hypotheses)
        metrics.update(beam_size=beam_size or predictor.metadata["config"]["beam_size"],
                       images_per_second=round(len(paths) / max(seconds, 1e-9), 1))
        if plot:
            self.attention_plot(predictor, paths[0], plot)
        return metrics

    def format_metrics(self, metrics: dict) -> str:
        return (f"BLEU-4 {metrics['bleu']:.2f}  exact {metrics['exact_match']:.4f}  images "
                f"{metrics['n']}  beam {metrics['beam_size']}\n{metrics['bleu_signature']}")

    def attention_plot(self, predictor, source, path, beam_size: int = 1) -> Path:
        return attention_plot(predictor, source, path, beam_size)


TASK = Caption()
train = functools.partial(lifecycle.train, TASK)  # train(config, train, valid, out_dir)
evaluate = TASK.evaluate  # evaluate(export_dir, data)
