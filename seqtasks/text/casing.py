"""Word shape ("casing") classes, computed inside the graph from the raw token.

The classes of Reimers & Gurevych (2017), in order of precedence: a token is ``numeric`` if all
its characters are digits, ``mainly_numeric`` if more than half are, then ``all_lower``,
``all_upper``, ``initial_upper``, ``contains_digit``, else ``other``. Id 0 is padding.
Lower-casing the word embeddings loses what this keeps (``Apple`` vs ``apple``).
"""

from __future__ import annotations

import tensorflow as tf

CASING_CLASSES = ("[PAD]", "other", "numeric", "mainly_numeric", "all_lower", "all_upper",
                  "initial_upper", "contains_digit")
_ID = {name: i for i, name in enumerate(CASING_CLASSES)}


def casing_ids(tokens: tf.Tensor) -> tf.Tensor:
    """String tensor of any shape -> int32 casing class ids of the same shape."""
    chars = tf.strings.length(tokens, unit="UTF8_CHAR")
    digits = tf.strings.length(tf.strings.regex_replace(tokens, r"[^\p{Nd}]", ""),
                               unit="UTF8_CHAR")
    rules = [  # lowest precedence first; later rules overwrite earlier ones
        ("contains_digit", digits > 0),
        ("initial_upper", tf.strings.regex_full_match(tokens, r"\p{Lu}.*")),
        ("all_upper", tf.strings.regex_full_match(tokens, r"[^\p{Ll}]*\p{Lu}[^\p{Ll}]*")),
        ("all_lower", tf.strings.regex_full_match(tokens, r"[^\p{Lu}]*\p{Ll}[^\p{Lu}]*")),
        ("mainly_numeric", 2 * digits > chars),
        ("numeric", tf.logical_and(digits == chars, chars > 0)),
    ]
    ids = tf.fill(tf.shape(tokens), tf.constant(_ID["other"], tf.int32))
    for name, matches in rules:
        ids = tf.where(matches, _ID[name], ids)
    return ids
