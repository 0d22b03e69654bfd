"""tf.data input: in-graph encoding, seeded shuffling, length-bucketed padded batches."""

from __future__ import annotations

from typing import Callable, Sequence

import tensorflow as tf

from seqtasks.text.encoder import pad_dense

BUCKET_EDGES = (8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512)


def bucket_boundaries(max_length: int) -> list[int]:
    return [edge for edge in BUCKET_EDGES if edge < max_length]


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
    """(token ids [batch, time], targets [batch, ...]) batches.

    Encoding runs once, in batches of 1024 through the same in-graph encoder the export uses.
    With ``bucket_by_length`` sequences of similar length share a batch, so little time is spent
    on padding; ``shuffle`` reshuffles every epoch with a fixed seed (deterministic runs).
    """
    dataset = tf.data.Dataset.from_tensor_slices((list(texts), targets))
    def encode_batch(text, target):
        ids = encode(text)
        return ids.to_tensor(), ids.row_lengths(), target

    dataset = dataset.batch(1024).map(encode_batch).unbatch()
    dataset = dataset.map(lambda ids, length, target: (ids[:length], target))
    dataset = dataset.cache()
    if shuffle:
        dataset = dataset.shuffle(max(len(texts), 1), seed=seed, reshuffle_each_iteration=True)
    boundaries = bucket_boundaries(max_length)
    if bucket_by_length and boundaries:
        dataset = dataset.bucket_by_sequence_length(
            element_length_func=lambda ids, _: tf.shape(ids)[0],
            bucket_boundaries=boundaries,
            bucket_batch_sizes=[batch_size] * (len(boundaries) + 1),
        )
    else:
        dataset = dataset.padded_batch(batch_size)
    dataset = dataset.map(lambda ids, y: (pad_dense(ids), y))
    return dataset.prefetch(tf.data.AUTOTUNE)


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
    dataset = tf.data.Dataset.from_tensor_slices((
        tf.RaggedTensor.from_row_lengths(tf.constant(flat_tokens, tf.string), lengths),
        tf.RaggedTensor.from_row_lengths(tf.constant(flat_tags, tf.int32), lengths),
    ))
    # Rows of a ragged tensor arrive as (uniform) ragged tensors; padding needs plain tensors.
    dataset = dataset.map(lambda words, tags: (tf.convert_to_tensor(words),
                                               tf.convert_to_tensor(tags))).cache()
    if shuffle:
        dataset = dataset.shuffle(max(len(tokens), 1), seed=seed, reshuffle_each_iteration=True)
    boundaries = bucket_boundaries(max_length)
    padding = ("", -1)
    if bucket_by_length and boundaries:
        dataset = dataset.bucket_by_sequence_length(
            element_length_func=lambda words, _: tf.shape(words)[0],
            bucket_boundaries=boundaries,
            bucket_batch_sizes=[batch_size] * (len(boundaries) + 1),
            padding_values=padding,
        )
    else:
        dataset = dataset.padded_batch(batch_size, padding_values=padding)

    def features(words, tags):
        lengths = tf.reduce_sum(tf.cast(tags >= 0, tf.int32), axis=1)
        return featurize(tf.RaggedTensor.from_tensor(words, lengths=lengths)), tags

    dataset = dataset.map(features, num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.prefetch(tf.data.AUTOTUNE)
