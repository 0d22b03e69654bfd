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
