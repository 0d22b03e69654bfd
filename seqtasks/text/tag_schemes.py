"""Chunk tag schemes (IOB1, IOB2 a.k.a. BIO, IOBES): parse, detect, convert, validate, constrain.

A tag is ``O`` or ``PREFIX-TYPE`` (``B-PER``). Entity spans are the scheme-independent truth:
every conversion decodes spans and encodes them again, so conversions round-trip by construction.

    IOB1   I- for entity tokens; B- only where an entity directly follows one of the same type
    IOB2   B- begins every entity, I- continues it
    IOBES  S- a one-token entity; B-, I-, E- begin, continue and end longer ones

Decoding is lenient and the same for every scheme: a token continues the entity before it when
its prefix is I- or E-, the previous prefix is B- or I-, and the types agree; any other non-O
token begins a new entity. Valid sequences decode as their scheme defines; invalid ones (an I-
after O in IOB2) decode the way conlleval reads them, which is how they are repaired.
Pure Python: the readers use it before TensorFlow is involved; ``seqtasks.text.spans`` is the
in-graph twin of ``spans``.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

OUTSIDE = "O"
PREFIXES = {"iob1": "BI", "iob2": "BI", "iobes": "BIES"}
NAMES = {"iob1": "IOB1", "iob2": "IOB2", "iobes": "IOBES"}


@dataclasses.dataclass(frozen=True)
class Span:
    """An entity over tokens ``start`` (inclusive) to ``end`` (exclusive)."""

    type: str
    start: int
    end: int


def split_tag(tag: str, scheme: str = "iobes") -> tuple[str, str]:
    """``"B-PER"`` -> ``("B", "PER")``; ``"O"`` -> ``("O", "")``; ValueError if not in ``scheme``."""
    if tag == OUTSIDE:
        return OUTSIDE, ""
    prefix, dash, entity_type = tag.partition("-")
    if not dash or not entity_type or len(prefix) != 1 or prefix not in PREFIXES[scheme]:
        allowed = ", ".join(f"{p}-TYPE" for p in PREFIXES[scheme])
        raise ValueError(f"tag '{tag}' is not in the {NAMES[scheme]} scheme "
                         f"(expected O, {allowed})")
    return prefix, entity_type


def continues(previous: tuple[str, str], current: tuple[str, str]) -> bool:
    """Does ``current`` (prefix, type) extend the entity that ``previous`` belongs to?"""
    return current[0] in "IE" and previous[0] in "BI" and current[1] == previous[1]


def spans(tags: Sequence[str]) -> list[Span]:
    """Entities of a tag sequence in any scheme (lenient decoding, see the module docstring)."""
    parsed = [split_tag(tag) for tag in tags]
    found, start = [], 0
    for i, (prefix, entity_type) in enumerate(parsed):
        if prefix == OUTSIDE:
            continue
        if i == 0 or not continues(parsed[i - 1], parsed[i]):
            start = i
        if i + 1 == len(parsed) or not continues(parsed[i], parsed[i + 1]):
            found.append(Span(entity_type, start, i + 1))
    return found


def encode(entities: Sequence[Span], length: int, scheme: str) -> list[str]:
    """Tags for ``length`` tokens holding non-overlapping ``entities`` (sorted by start)."""
    if scheme not in PREFIXES:
        raise ValueError(f"Unknown scheme '{scheme}'. Expected one of: {', '.join(PREFIXES)}")
    tags = [OUTSIDE] * length
    previous = None
    for span in entities:
        size = span.end - span.start
        tags[span.start : span.end] = [f"I-{span.type}"] * size
        if scheme == "iob2" or (scheme == "iobes" and size > 1):
            tags[span.start] = f"B-{span.type}"
        elif scheme == "iob1" and previous and (previous.end, previous.type) == (span.start,
                                                                               span.type):
            tags[span.start] = f"B-{span.type}"
        if scheme == "iobes":
            tags[span.end - 1] = f"S-{span.type}" if size == 1 else f"E-{span.type}"
        previous = span
    return tags


def convert(tags: Sequence[str], scheme: str) -> list[str]:
    """The same entities written in ``scheme`` (invalid input is repaired on the way)."""
    return encode(spans(tags), len(tags), scheme)


def first_invalid(tags: Sequence[str], scheme: str) -> tuple[int, str] | None:
    """(position, problem) of the first tag that breaks ``scheme``'s rules, or None.

    Every tag must carry one of the scheme's prefixes; in IOB2 and IOBES the sequence must also be
    the scheme's own encoding of its entities (IOB1 files in the wild mix both readings of B-, so
    any B-/I- sequence is accepted as IOB1).
    """
    for position, tag in enumerate(tags):
        try:
            split_tag(tag, scheme)
        except ValueError as e:
            return position, str(e)
    if scheme == "iob1":
        return None
    canonical = convert(tags, scheme)
    for position, (tag, expected) in enumerate(zip(tags, canonical)):
        if tag != expected:
            before = tags[position - 1] if position else "<start>"
            after = tags[position + 1] if position + 1 < len(tags) else "<end>"
            return position, (f"tag '{tag}' is not valid {NAMES[scheme]} between '{before}' and "
                              f"'{after}' (expected '{expected}')")
    return None


def detect(sentences: Sequence[Sequence[str]]) -> str:
    """Guess the scheme of tagged sentences: ``iobes`` if E-/S- occur, else ``iob1`` if more
    entities begin with I- than with a B- that IOB1 would not write, else ``iob2``."""
    i_starts = b_starts = 0
    for tags in sentences:
        parsed = [split_tag(tag) for tag in tags]
        if any(prefix in "ES" for prefix, _ in parsed):
            return "iobes"
        for i, (prefix, entity_type) in enumerate(parsed):
            previous = parsed[i - 1] if i else (OUTSIDE, "")
            if prefix == "I" and not continues(previous, parsed[i]):
                i_starts += 1
            elif prefix == "B" and not (previous[0] in "BI" and previous[1] == entity_type):
                b_starts += 1
    return "iob1" if i_starts > b_starts else "iob2"


def allowed_transitions(tags: Sequence[str], scheme: str
                        ) -> tuple[list[bool], list[list[bool]], list[bool]]:
    """Which tags may begin a sentence, follow each tag (``[from][to]``), and end a sentence,
    so that every path a CRF can decode is a valid ``scheme`` sequence (iob2 or iobes)."""
    if scheme not in ("iob2", "iobes"):
        raise ValueError(f"Transition constraints exist for iob2 and iobes, not '{scheme}'")
    parsed = [split_tag(tag, scheme) for tag in tags]

    def may_follow(previous, current) -> bool:
        if current[0] in "IE":
            return continues(previous, current)
        return scheme == "iob2" or previous[0] not in "BI"

    start = [prefix not in "IE" for prefix, _ in parsed]
    end = [scheme == "iob2" or prefix not in "BI" for prefix, _ in parsed]
    matrix = [[may_follow(a, b) for b in parsed] for a in parsed]
    return start, matrix, end
