"""What an export is (``kind`` in its ``seqtasks.json``): code after training picks behaviour by
kind (the predictor ``seqtasks.load`` returns, what an LM-initialised encoder accepts), never by
comparing task names, so a new task of a known kind needs no change there."""

from __future__ import annotations

CLASSIFIER = "classifier"                      # text -> label + probabilities
TAGGER = "tagger"                              # text -> tokens, tags, entities
LANGUAGE_MODEL = "language_model"              # prompts -> samples; texts -> scores
SEQUENCE_TO_SEQUENCE = "sequence_to_sequence"  # text -> text (translate)
SEQUENCE_AUTOENCODER = "sequence_autoencoder"  # text -> embedding; text -> reconstruction
CAPTIONER = "captioner"                        # image -> text
KINDS = (CLASSIFIER, TAGGER, LANGUAGE_MODEL, SEQUENCE_TO_SEQUENCE, SEQUENCE_AUTOENCODER,
         CAPTIONER)

# Exports written before seqtasks.json recorded a kind: the kind of their task's exports.
LEGACY_TASK_KINDS = {"sentiment": CLASSIFIER, "ner": TAGGER, "lm": LANGUAGE_MODEL,
                     "translate": SEQUENCE_TO_SEQUENCE, "autoencoder": SEQUENCE_AUTOENCODER,
                     "caption": CAPTIONER}


def kind_of(metadata: dict) -> str | None:
    """The export's kind: recorded, or (older exports) its task's; None when neither is known."""
    return metadata.get("kind") or LEGACY_TASK_KINDS.get(metadata.get("task"))
