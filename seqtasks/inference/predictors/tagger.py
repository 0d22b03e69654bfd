"""Sequence tagging exports (kind ``tagger``, NER): tags and entities with character offsets."""

from __future__ import annotations

from typing import Callable, Sequence

import pandas as pd

from seqtasks.inference.predictor import BATCH, Predictor, as_strings, column_strings, text_of


def tag_sentences(tag_tokens: Callable, sentences: Sequence[Sequence[str]]) -> list[list[str]]:
    """Tags of tokenized sentences through a ``tag_tokens`` function (tokens [batch, time] padded
    with "" -> tags, lengths): an export's signature, or the same function before export."""
    import tensorflow as tf

    tagged: list[list[str]] = []
    for start in range(0, len(sentences), BATCH):
        batch = [list(sentence) for sentence in sentences[start : start + BATCH]]
        width = max(1, *map(len, batch))
        padded = tf.constant([sentence + [""] * (width - len(sentence)) for sentence in batch],
                             tf.string)
        result = tag_tokens(tokens=padded)
        for tags, length in zip(result["tags"].numpy(), result["lengths"].numpy()):
            tagged.append([text_of(tag) for tag in tags[:length]])
    return tagged


class TaggerPredictor(Predictor):
    """Sequence tagging (NER): tokens, one tag per token, and entities with character offsets."""

    @property
    def tags(self) -> list[str]:
        return list(self.metadata["tags"])

    def predict_list(self, inputs) -> list[dict]:
        """``{"tokens", "tags", "entities"}`` per input, each entity ``{"text", "type", "start",
        "end"}`` with ``text == input[start:end]``. REST's answer row holds the same values
        padded: ``tokens``/``tags`` cut at ``lengths``, and the ``entity_*`` columns cut at
        ``entity_count`` grouped into ``entities``."""
        rows = []
        for out in self._batches(as_strings(inputs)):
            for i, (length, count) in enumerate(zip(out["lengths"], out["entity_count"])):
                entities = [{"text": text_of(out["entity_text"][i, j]),
                             "type": text_of(out["entity_type"][i, j]),
                             "start": int(out["entity_start"][i, j]),
                             "end": int(out["entity_end"][i, j])} for j in range(count)]
                rows.append({"tokens": [text_of(t) for t in out["tokens"][i, :length]],
                             "tags": [text_of(t) for t in out["tags"][i, :length]],
                             "entities": entities})
        return rows

    def predict_frame(self, frame: pd.DataFrame, text_column: str = "text") -> pd.DataFrame:
        """The frame with an ``entities`` column (a list of entity dicts per row)."""
        texts = column_strings(frame, text_column)
        result = frame.copy()
        result["entities"] = [row["entities"] for row in self.predict_list(texts)]
        return result

    def tag_tokens(self, sentences: Sequence[Sequence[str]]) -> list[list[str]]:
        """Tags of already tokenized sentences (CoNLL-style evaluation), via ``tag_tokens``."""
        return tag_sentences(self.model.signatures["tag_tokens"], sentences)
