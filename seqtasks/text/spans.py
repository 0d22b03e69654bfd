"""Entity spans inside the graph: tag ids -> entities, token byte offsets -> character offsets.

``EntityDecoder`` is the in-graph twin of ``seqtasks.text.tag_schemes.spans`` (same lenient rule: a
token continues the entity before it when its prefix is I-/E-, the previous one's is B-/I-, and the
types agree), written with vectorised ops so an exported model needs no Python to find entities.
"""

from __future__ import annotations

from typing import Sequence

import tensorflow as tf

from seqtasks.text.tag_schemes import OUTSIDE, split_tag


class EntityDecoder:
    """Ragged tag ids [batch, (tokens)] -> ragged entities [batch, (entities)]:
    ``type`` (string), ``start`` and ``end`` token positions (end exclusive)."""

    def __init__(self, tags: Sequence[str]):
        parsed = [split_tag(tag) for tag in tags]
        self.types = sorted({entity_type for prefix, entity_type in parsed if prefix != OUTSIDE})
        type_index = {name: i for i, name in enumerate(self.types)}
        self.type_names = tf.constant(self.types or [""], tf.string)
        self.type_of = tf.constant([type_index.get(t, -1) for _, t in parsed], tf.int32)
        self.is_entity = tf.constant([p != OUTSIDE for p, _ in parsed])
        self.may_continue = tf.constant([p in "IE" for p, _ in parsed])  # may extend the previous
        self.may_be_extended = tf.constant([p in "BI" for p, _ in parsed])

    def __call__(self, tag_ids: tf.RaggedTensor) -> dict[str, tf.RaggedTensor]:
        tags = tag_ids.flat_values
        positions = tf.range(tf.shape(tags, out_type=tf.int64)[0])
        rows = tag_ids.value_rowids()
        offset_in_row = positions - tf.gather(tag_ids.row_starts(), rows)
        previous = tf.concat([tags[:1], tags[:-1]], 0)
        continues = (tf.gather(self.may_continue, tags) & tf.gather(self.may_be_extended, previous)
                     & tf.equal(tf.gather(self.type_of, tags), tf.gather(self.type_of, previous))
                     & (offset_in_row > 0))
        entity = tf.gather(self.is_entity, tags)
        begins = tf.where(entity & ~continues)[:, 0]
        next_continues = tf.concat([continues[1:], [False]], 0)
        ends = tf.where(entity & ~next_continues)[:, 0]

        def ragged(values):
            return tf.RaggedTensor.from_value_rowids(values, tf.gather(rows, begins),
                                                     nrows=tag_ids.nrows())

        return {"type": ragged(tf.gather(self.type_names,
                                         tf.gather(self.type_of, tf.gather(tags, begins)))),
                "start": ragged(tf.gather(offset_in_row, begins)),
                "end": ragged(tf.gather(offset_in_row, ends) + 1)}


def char_offsets(text: tf.Tensor, byte_offsets: tf.RaggedTensor) -> tf.RaggedTensor:
    """Byte offsets into each UTF-8 string of ``text`` [batch] -> Unicode character offsets."""
    per_offset = tf.gather(text, byte_offsets.value_rowids())
    lengths = byte_offsets.flat_values
    prefixes = tf.strings.substr(per_offset, tf.zeros_like(lengths), lengths, unit="BYTE")
    return byte_offsets.with_flat_values(
        tf.cast(tf.strings.length(prefixes, unit="UTF8_CHAR"), byte_offsets.dtype))


def entities_in_text(text: tf.Tensor, token_starts: tf.RaggedTensor, token_ends: tf.RaggedTensor,
                     entities: dict[str, tf.RaggedTensor]) -> dict[str, tf.RaggedTensor]:
    """Entities over tokens -> their exact substring of ``text`` and character offsets
    [start, end) into it, given each token's byte offsets (``split_with_offsets``)."""
    byte_start = tf.gather(token_starts, entities["start"], batch_dims=1)
    byte_end = tf.gather(token_ends, entities["end"] - 1, batch_dims=1)
    per_entity = tf.gather(text, byte_start.value_rowids())
    substrings = tf.strings.substr(per_entity, byte_start.flat_values,
                                   byte_end.flat_values - byte_start.flat_values, unit="BYTE")
    return {"text": byte_start.with_flat_values(substrings),
            "type": entities["type"],
            "start": char_offsets(text, byte_start),
            "end": char_offsets(text, byte_end)}
