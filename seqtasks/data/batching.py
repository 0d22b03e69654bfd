"""tf.data input: in-graph encoding, seeded shuffling, length-bucketed padded batches (single
sequences, tagged sentences, translation pairs, image captions)."""

from __future__ import annotations

from typing import Callable, Sequence

import tensorflow as tf

from seqtasks.text.encoder import pad_dense
from seqtasks.text.vocab import BOS_ID, EOS_ID, PAD_ID

BUCKET_EDGES = (8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512)


def finished(dataset: tf.data.Dataset, buffer: int = 2) -> tf.data.Dataset:
    """The last stage of every input pipeline: a fixed prefetch buffer, tf.data autotuning off.

    Autotuning's background thread sleeps 10, 20, 40, ... ms between rounds, and an iterator's
    teardown waits for its current sleep: short ``fit`` calls took 2.55 s (or 5.11 s) instead
    of 1.4-1.5 s in about a third of the runs (10 ms x (2^8 - 1) = 2.55 s), never with it off.
    The datasets here cache their encoded data, so a fixed buffer loses nothing.
    """
    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.prefetch(buffer).with_options(options)


def bucket_boundaries(max_length: int) -> list[int]:
    return [edge for edge in BUCKET_EDGES if edge < max_length]


def encoded_examples(columns: tuple, encode_batch: Callable, trim: Callable,
                     chunk: int = 1024) -> tf.data.Dataset:
    """One example per row of ``columns``, encoded ``chunk`` rows at a time by ``encode_batch``
    (the in-graph encoders the export uses, on dense padded tensors with their lengths), then
    cut back to its own length by ``trim``."""
    dataset = tf.data.Dataset.from_tensor_slices(columns)
    return dataset.batch(chunk).map(encode_batch).unbatch().map(trim)


def batches(examples: tf.data.Dataset, size: int, to_model_inputs: Callable, batch_size: int,
            shuffle: bool, seed: int, max_length: int = 0, length: Callable | None = None,
            padding_values=None, parallel: bool = False) -> tf.data.Dataset:
    """What every builder does with its encoded examples: cache them, reshuffle them every
    epoch with a fixed seed (deterministic runs), pad them into batches (with ``length``,
    examples of similar length share a batch, so little time is spent on padding), map each
    batch to ``to_model_inputs`` and end with ``finished``."""
    dataset = examples.cache()
    if shuffle:
        dataset = dataset.shuffle(max(size, 1), seed=seed, reshuffle_each_iteration=True)
    boundaries = bucket_boundaries(max_length)
    if length is not None and boundaries:
        dataset = dataset.bucket_by_sequence_length(
            element_length_func=length, bucket_boundaries=boundaries,
            bucket_batch_sizes=[batch_size] * (len(boundaries) + 1),
            padding_values=padding_values)
    else:
        dataset = dataset.padded_batch(batch_size, padding_values=padding_values)
    return finished(dataset.map(to_model_inputs,
                                num_parallel_calls=tf.data.AUTOTUNE if parallel else None))


def sequence_dataset(
    texts: Sequence[str],
    targets,
    encode: Callable[[tf.Tensor], tf.RaggedTensor],
    batch_size: int,
    max_length: int,
    shuffle: bool,
    seed: int,
    bucket_by_length: bool = True,
) -> tf.data.Dataset:
    """(token ids [batch, time], targets [batch, ...]) batches, bucketed by length."""
    def encode_batch(text, target):
        ids = encode(text)
        return ids.to_tensor(), ids.row_lengths(), target

    examples = encoded_examples((list(texts), targets), encode_batch,
                                lambda ids, length, target: (ids[:length], target))
    return batches(examples, len(texts), lambda ids, y: (pad_dense(ids), y), batch_size,
                   shuffle, seed, max_length,
                   (lambda ids, _: tf.shape(ids)[0]) if bucket_by_length else None)


def tagged_dataset(
    tokens: Sequence[Sequence[str]],
    tag_ids: Sequence[Sequence[int]],
    featurize: Callable[[tf.RaggedTensor], dict],
    batch_size: int,
    max_length: int,
    shuffle: bool,
    seed: int,
    bucket_by_length: bool = True,
) -> tf.data.Dataset:
    """(features, tag ids [batch, time] padded with -1) batches for sequence labelling.

    Sentences are cut to ``max_length`` tokens. ``featurize`` maps each batch of raw tokens
    (ragged [batch, (time)]) to the model's inputs, in the graph, as the exported model does.
    Without shuffling and bucketing, batches keep the order of ``tokens``.
    """
    lengths = [min(len(sentence), max_length) for sentence in tokens]
    flat_tokens = [token for sentence in tokens for token in sentence[:max_length]]
    flat_tags = [tag for sentence in tag_ids for tag in sentence[:max_length]]
    examples = tf.data.Dataset.from_tensor_slices((
        tf.RaggedTensor.from_row_lengths(tf.constant(flat_tokens, tf.string), lengths),
        tf.RaggedTensor.from_row_lengths(tf.constant(flat_tags, tf.int32), lengths),
    ))
    # Rows of a ragged tensor arrive as (uniform) ragged tensors; padding needs plain tensors.
    examples = examples.map(lambda words, tags: (tf.convert_to_tensor(words),
                                                 tf.convert_to_tensor(tags)))

    def features(words, tags):
        lengths = tf.reduce_sum(tf.cast(tags >= 0, tf.int32), axis=1)
        return featurize(tf.RaggedTensor.from_tensor(words, lengths=lengths)), tags

    return batches(examples, len(tokens), features, batch_size, shuffle, seed, max_length,
                   (lambda words, _: tf.shape(words)[0]) if bucket_by_length else None,
                   padding_values=("", -1), parallel=True)


def parallel_dataset(
    sources: Sequence[str],
    targets: Sequence[str],
    encode_source: Callable[[tf.Tensor], tf.RaggedTensor],
    encode_target: Callable[[tf.Tensor], tf.RaggedTensor],
    batch_size: int,
    max_length: int,
    shuffle: bool,
    seed: int,
    bucket_by_length: bool = True,
) -> tf.data.Dataset:
    """((source ids [batch, S], decoder input ids [batch, T]), target ids [batch, T], weights
    [batch, T]) batches for teacher-forced sequence-to-sequence training.

    The decoder reads ``[BOS] y1 .. yn`` and learns to emit ``y1 .. yn [EOS]``; weights are 1 on
    real target positions and 0 on padding. Pairs are bucketed by their longer side.
    """
    def encode_batch(source, target):
        source_ids = tf.cast(encode_source(source), tf.int32)
        decoder_in, decoder_out = teacher_forcing(encode_target(target))
        return (source_ids.to_tensor(), source_ids.row_lengths(), decoder_in.to_tensor(),
                decoder_out.to_tensor(), decoder_out.row_lengths())

    examples = encoded_examples(
        (list(sources), list(targets)), encode_batch,
        lambda source, source_length, decoder_in, decoder_out, target_length: (
            source[:source_length], decoder_in[:target_length], decoder_out[:target_length]))

    def to_model_inputs(source, decoder_in, decoder_out):
        return (pad_dense(source), decoder_in), decoder_out, target_weights(decoder_out)

    def longer_side(source, decoder_in, _):
        return tf.maximum(tf.shape(source)[0], tf.shape(decoder_in)[0])

    return batches(examples, len(sources), to_model_inputs, batch_size, shuffle, seed,
                   max_length + 1, longer_side if bucket_by_length else None)


def teacher_forcing(target_ids: tf.RaggedTensor) -> tuple[tf.RaggedTensor, tf.RaggedTensor]:
    """Ragged target ids -> (decoder inputs ``[BOS] y1 .. yn``, decoder outputs ``y1 .. yn
    [EOS]``), int32."""
    target_ids = tf.cast(target_ids, tf.int32)
    edge = tf.ones([target_ids.nrows(), 1], tf.int32)
    return (tf.concat([edge * BOS_ID, target_ids], axis=1),
            tf.concat([target_ids, edge * EOS_ID], axis=1))


def target_weights(decoder_out: tf.Tensor) -> tf.Tensor:
    """1 on real target positions, 0 on padding."""
    return tf.cast(tf.not_equal(decoder_out, PAD_ID), tf.float32)


def image_caption_dataset(
    image_paths: Sequence[str],
    captions: Sequence[str],
    decode_images: Callable[[tf.Tensor], tf.Tensor],
    encode_caption: Callable[[tf.Tensor], tf.RaggedTensor],
    batch_size: int,
    shuffle: bool,
    seed: int,
) -> tf.data.Dataset:
    """((images [batch, H, W, 3], decoder input ids [batch, T]), target ids, weights) batches
    for teacher-forced captioning. Files are read and decoded once, by ``decode_images`` (the
    exported graph's decoder), and cached in memory."""
    def encode_batch(paths, texts):
        images = decode_images(tf.map_fn(tf.io.read_file, paths))
        decoder_in, decoder_out = teacher_forcing(encode_caption(texts))
        return images, decoder_in.to_tensor(), decoder_out.to_tensor(), decoder_out.row_lengths()

    examples = encoded_examples(
        (list(image_paths), list(captions)), encode_batch,
        lambda image, decoder_in, decoder_out, length: (
            image, decoder_in[:length], decoder_out[:length]), chunk=256)

    def to_model_inputs(images, decoder_in, decoder_out):
        return (images, decoder_in), decoder_out, target_weights(decoder_out)

    # Images are all one size and captions short: padded batches, no length buckets.
    return batches(examples, len(captions), to_model_inputs, batch_size, shuffle, seed)
