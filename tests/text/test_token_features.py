"""Tagger inputs from raw tokens: word forms, vocabularies, char ids, casing classes, padding."""

from __future__ import annotations

import tensorflow as tf

from seqtasks.text.casing import CASING_CLASSES, casing_ids
from seqtasks.text.token_features import TokenFeatures, build_vocabularies, word_forms
from seqtasks.text.vocab import UNK_ID


def test_casing_classes():
    tokens = ["EU", "rejects", "German", "1996", "1996-08-22", "3rd", "eBay", ",", "U.N.", "A4",
              "Ölfeld", "élan", ""]
    expected = ["all_upper", "all_lower", "initial_upper", "numeric", "mainly_numeric",
                "all_lower", "other", "other", "all_upper", "all_upper", "initial_upper",
                "all_lower", "other"]
    ids = casing_ids(tf.constant(tokens)).numpy()
    assert [CASING_CLASSES[i] for i in ids] == expected


def test_word_forms_and_vocabularies():
    forms = word_forms(tf.constant(["Bonn", "1996-08-22", "ＡＢＣ"]), lowercase=True,
                       digits_to_zero=True)
    assert [f.decode() for f in forms.numpy()] == ["bonn", "0000-00-00", "abc"]
    words, chars = build_vocabularies([["EU", "eu", "1996"], ["EU"]], lowercase=True,
                                      digits_to_zero=True)
    assert words.tokens[4:] == ["eu", "0000"]
    assert chars.tokens[4:] == ["9", "E", "U", "1", "6", "e", "u"]


def test_features_are_padded_int32_and_survive_empty_batches():
    words, chars = build_vocabularies([["EU", "rejects", "German"]], True, True)
    features = TokenFeatures(words, chars, lowercase=True, digits_to_zero=True, max_word_length=3)
    out = features(tf.ragged.constant([["EU", "rejects", "Ghana"], ["EU"]]))
    assert out["word_ids"].dtype == tf.int32
    assert out["word_ids"].numpy().tolist() == [[words.index["eu"], words.index["rejects"],
                                                 UNK_ID], [words.index["eu"], 0, 0]]
    assert out["char_ids"].shape == (2, 3, 3)  # "rejects" cut to 3 characters
    assert out["char_ids"].numpy()[0, 2].tolist() == [chars.index["G"], UNK_ID, chars.index["a"]]
    assert out["casing_ids"].numpy().tolist() == [[5, 4, 6], [5, 0, 0]]
    empty = features(tf.RaggedTensor.from_row_lengths(tf.constant([], tf.string), [0, 0]))
    assert empty["word_ids"].shape == (2, 1) and empty["char_ids"].shape == (2, 1, 1)
