"""In-graph entity decoding (twin of tag_schemes.spans) and character offsets into raw text."""

from __future__ import annotations

import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

from seqtasks.text.tag_schemes import spans
from seqtasks.text.spans import EntityDecoder, char_offsets, entities_in_text
from seqtasks.text.tokenizers import WordTokenizer, sanitize

TAGS = ["O", "B-PER", "I-PER", "E-PER", "S-PER", "B-LOC", "I-LOC", "E-LOC", "S-LOC"]
DECODER = EntityDecoder(TAGS)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.integers(0, len(TAGS) - 1), max_size=8), min_size=1, max_size=4))
def test_decoder_matches_python_spans(rows):
    out = DECODER(tf.ragged.constant(rows, dtype=tf.int32, ragged_rank=1))
    for i, row in enumerate(rows):
        expected = [(s.type, s.start, s.end) for s in spans([TAGS[t] for t in row])]
        found = list(zip([t.decode() for t in out["type"][i].numpy()],
                         out["start"][i].numpy().tolist(), out["end"][i].numpy().tolist()))
        assert found == expected


def test_char_offsets_count_characters_not_bytes():
    text = tf.constant(["Köln und Zürich", "abc"])
    byte_offsets = tf.ragged.constant([[0, 6, 10, 17], [3]], dtype=tf.int64)
    assert char_offsets(text, byte_offsets).to_list() == [[0, 5, 9, 15], [3]]


WORD = st.text(st.characters(whitelist_categories=("L", "N")), min_size=1, max_size=5)
GAP = st.text(st.sampled_from([" ", "\t", "\n", "\u00a0", "\u3000"]), min_size=1, max_size=3)
PUNCT = st.sampled_from(["", ",", ".", "!", "(", "«", "—"])


@st.composite
def sentences(draw):
    pieces = draw(st.lists(st.tuples(WORD, PUNCT, GAP), min_size=1, max_size=6))
    leading = draw(st.sampled_from(["", " ", "\n\t"]))
    return leading + "".join(word + punct + gap for word, punct, gap in pieces)


@settings(max_examples=60, deadline=None)
@given(text=sentences(), data=st.data())
def test_entity_offsets_map_back_to_the_exact_substring(text, data):
    tokens, starts, ends = WordTokenizer().split_with_offsets(sanitize(tf.constant([text])))
    count = int(tokens.row_lengths()[0])
    first = data.draw(st.integers(0, count - 1))
    last = data.draw(st.integers(first, count - 1))
    entities = {"type": tf.ragged.constant([["X"]]),
                "start": tf.ragged.constant([[first]], dtype=tf.int64),
                "end": tf.ragged.constant([[last + 1]], dtype=tf.int64)}
    out = entities_in_text(tf.constant([text]), starts, ends, entities)
    start, end = int(out["start"][0, 0]), int(out["end"][0, 0])
    assert out["text"][0, 0].numpy().decode("utf-8") == text[start:end]
    words = [t.decode("utf-8") for t in tokens[0].numpy()]
    assert text[start:end].startswith(words[first]) and text[start:end].endswith(words[last])
