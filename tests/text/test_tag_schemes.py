"""Tag schemes: parsing, lenient span decoding, conversion round-trips, validation, detection,
and the CRF transition constraints (pure Python, no TensorFlow)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seqtasks.text import tag_schemes
from seqtasks.text.tag_schemes import Span, allowed_transitions, convert, detect, encode, spans

TYPES = ("PER", "LOC")


@st.composite
def entity_layouts(draw, max_length: int = 12):
    """(length, sorted non-overlapping spans), adjacent same-type entities included."""
    length = draw(st.integers(0, max_length))
    found, position = [], 0
    while position < length:
        if draw(st.booleans()):
            position += 1
            continue
        size = draw(st.integers(1, length - position))
        found.append(Span(draw(st.sampled_from(TYPES)), position, position + size))
        position += size
    return length, found


def test_split_tag():
    assert tag_schemes.split_tag("B-PER") == ("B", "PER")
    assert tag_schemes.split_tag("I-MISC-X") == ("I", "MISC-X")
    assert tag_schemes.split_tag("O") == ("O", "")
    for bad in ("PER", "B-", "X-PER", "BB-PER", ""):
        with pytest.raises(ValueError, match="not in the IOBES scheme"):
            tag_schemes.split_tag(bad)
    with pytest.raises(ValueError, match="not in the IOB2 scheme"):
        tag_schemes.split_tag("E-PER", "iob2")


@pytest.mark.parametrize("tags, expected", [
    (["B-PER", "I-PER", "O", "B-LOC"], [("PER", 0, 2), ("LOC", 3, 4)]),     # IOB2
    (["I-PER", "I-PER", "B-PER", "O", "I-LOC"], [("PER", 0, 2), ("PER", 2, 3), ("LOC", 4, 5)]),
    (["B-PER", "E-PER", "S-PER", "B-LOC", "I-LOC", "E-LOC"],
     [("PER", 0, 2), ("PER", 2, 3), ("LOC", 3, 6)]),                          # IOBES
    (["O", "I-PER", "I-LOC"], [("PER", 1, 2), ("LOC", 2, 3)]),                # repaired reading
    ([], []),
])
def test_spans(tags, expected):
    assert spans(tags) == [Span(*e) for e in expected]


def test_encode_in_each_scheme():
    entities = [Span("PER", 0, 2), Span("PER", 2, 3), Span("LOC", 4, 5)]
    assert encode(entities, 5, "iob1") == ["I-PER", "I-PER", "B-PER", "O", "I-LOC"]
    assert encode(entities, 5, "iob2") == ["B-PER", "I-PER", "B-PER", "O", "B-LOC"]
    assert encode(entities, 5, "iobes") == ["B-PER", "E-PER", "S-PER", "O", "S-LOC"]
    with pytest.raises(ValueError, match="Unknown scheme 'bio'"):
        encode(entities, 5, "bio")


@given(entity_layouts())
def test_round_trip_iob1_iob2_iobes_iob2(layout):
    length, entities = layout
    iob1 = encode(entities, length, "iob1")
    iob2 = convert(iob1, "iob2")
    iobes = convert(iob2, "iobes")
    assert convert(iobes, "iob2") == iob2 == encode(entities, length, "iob2")
    assert convert(iobes, "iob1") == iob1
    for tags in (iob1, iob2, iobes):
        assert spans(tags) == entities


@given(entity_layouts())
def test_own_encodings_are_valid(layout):
    length, entities = layout
    for scheme in ("iob1", "iob2", "iobes"):
        assert tag_schemes.first_invalid(encode(entities, length, scheme), scheme) is None


def test_first_invalid_points_at_the_tag():
    position, problem = tag_schemes.first_invalid(["O", "B-PER", "O", "I-PER"], "iob2")
    assert position == 3
    assert "'I-PER' is not valid IOB2 between 'O' and '<end>' (expected 'B-PER')" in problem
    position, problem = tag_schemes.first_invalid(["B-PER", "O"], "iobes")
    assert (position, "expected 'S-PER'" in problem) == (0, True)
    assert tag_schemes.first_invalid(["O", "E-PER"], "iob2")[0] == 1  # prefix not in scheme
    assert tag_schemes.first_invalid(["I-PER", "B-PER"], "iob1") is None


def test_detect():
    assert detect([["B-PER", "I-PER", "O"], ["B-LOC"]]) == "iob2"
    assert detect([["I-PER", "I-PER", "O"], ["I-LOC", "B-LOC"]]) == "iob1"
    assert detect([["S-PER", "O"], ["B-LOC", "E-LOC"]]) == "iobes"
    # One stray I- after O in an IOB2 file is an error to repair, not an IOB1 file.
    assert detect([["B-PER", "O"], ["B-LOC"], ["O", "I-ORG"]]) == "iob2"
    assert detect([["O", "O"]]) == "iob2"


@pytest.mark.parametrize("scheme", ["iob2", "iobes"])
@given(layout=entity_layouts())
def test_allowed_transitions_accept_every_valid_sequence(scheme, layout):
    tags = ["O"] + [f"{p}-{t}" for t in TYPES for p in tag_schemes.PREFIXES[scheme]]
    index = {tag: i for i, tag in enumerate(tags)}
    start, matrix, end = allowed_transitions(tags, scheme)
    length, entities = layout
    sequence = [index[tag] for tag in encode(entities, length, scheme)]
    if sequence:
        assert start[sequence[0]] and end[sequence[-1]]
    assert all(matrix[a][b] for a, b in zip(sequence, sequence[1:]))


def test_allowed_transitions_forbid_invalid_steps():
    tags = ["O", "B-PER", "I-PER", "E-PER", "S-PER", "B-LOC"]
    start, matrix, end = allowed_transitions(tags, "iobes")
    i = {tag: n for n, tag in enumerate(tags)}
    assert not start[i["I-PER"]] and not start[i["E-PER"]] and start[i["S-PER"]]
    assert not end[i["B-PER"]] and not end[i["I-PER"]] and end[i["E-PER"]]
    assert not matrix[i["O"]][i["I-PER"]]
    assert not matrix[i["B-PER"]][i["O"]] and matrix[i["B-PER"]][i["E-PER"]]
    assert not matrix[i["B-LOC"]][i["E-PER"]]
    start, matrix, end = allowed_transitions(["O", "B-PER", "I-PER"], "iob2")
    assert start == [True, True, False] and end == [True, True, True]
    assert not matrix[0][2] and matrix[1][2] and matrix[2][2] and matrix[2][0]
    with pytest.raises(ValueError, match="iob2 and iobes"):
        allowed_transitions(["O"], "iob1")
