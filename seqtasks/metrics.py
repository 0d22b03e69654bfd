"""Task metrics as thin wrappers over the field's standard libraries (scikit-learn here)."""

from __future__ import annotations

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
