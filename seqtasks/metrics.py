"""Task metrics as thin wrappers over the field's standard libraries (scikit-learn, seqeval)."""

from __future__ import annotations

import warnings
from typing import Sequence


def classification_metrics(gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str]
                           ) -> dict:
    """Accuracy, macro-F1, a per-class report and the confusion matrix (rows = gold)."""
    from sklearn.metrics import accuracy_score, classification_report, confusion_matrix, f1_score

    labels = list(labels)
    report = classification_report(gold, predicted, labels=labels, output_dict=True,
                                   zero_division=0)
    return {
        "accuracy": float(accuracy_score(gold, predicted)),
        "macro_f1": float(f1_score(gold, predicted, labels=labels, average="macro",
                                   zero_division=0)),
        "n": len(gold),
        "per_class": {name: {k: float(v) for k, v in report[name].items()} for name in labels},
        "confusion_matrix": {"labels": labels,
                             "matrix": confusion_matrix(gold, predicted, labels=labels).tolist()},
    }


def entity_metrics(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]], scheme: str
                   ) -> dict:
    """Entity precision / recall / F1 (overall = micro average, and per type) with seqeval in
    strict mode, the CoNLL convention: an entity counts only if its type and exact span match,
    and only well-formed ``scheme`` (iob2 | iobes) chunks count. Plus token accuracy."""
    from seqeval.metrics import classification_report
    from seqeval.scheme import IOB2, IOBES

    gold, predicted = [list(s) for s in gold], [list(s) for s in predicted]
    with warnings.catch_warnings():  # numpy warns about averages over no entities at all
        warnings.simplefilter("ignore", RuntimeWarning)
        report = classification_report(gold, predicted, mode="strict",
                                       scheme={"iob2": IOB2, "iobes": IOBES}[scheme],
                                       output_dict=True, zero_division=0)
    overall = report["micro avg"]
    per_type = {name: {"precision": float(row["precision"]), "recall": float(row["recall"]),
                       "f1": float(row["f1-score"]), "support": int(row["support"])}
                for name, row in report.items() if not name.endswith(" avg")}
    tokens = sum(len(sentence) for sentence in gold)
    correct = sum(g == p for gs, ps in zip(gold, predicted) for g, p in zip(gs, ps))
    return {
        "f1": float(overall["f1-score"]),
        "precision": float(overall["precision"]),
        "recall": float(overall["recall"]),
        "token_accuracy": correct / max(tokens, 1),
        "per_type": per_type,
        "n_sentences": len(gold),
        "n_tokens": tokens,
        "n_entities": int(overall["support"]),
    }
