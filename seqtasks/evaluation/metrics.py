"""Task metrics as thin wrappers over the field's standard libraries (scikit-learn, seqeval,
sacrebleu), and the language-model scores derived from a total log-probability."""

from __future__ import annotations

import math
import sys
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


MAX_EXP = math.log(sys.float_info.max)


def language_model_metrics(log_prob: float, n_tokens: int, level: str) -> dict:
    """Perplexity exp(-log_prob / n_tokens), nats per token and, for character models, bits per
    character, from the natural-log probability of ``n_tokens`` predicted tokens."""
    if n_tokens <= 0:
        raise ValueError("language_model_metrics needs at least one scored token")
    nats = -log_prob / n_tokens
    # A diverged model's perplexity is beyond a float: infinite, not an OverflowError.
    metrics = {"perplexity": math.exp(nats) if nats < MAX_EXP else math.inf,
               "nats_per_token": nats}
    if level == "char":
        metrics["bits_per_char"] = nats / math.log(2)
    metrics["n_tokens"] = int(n_tokens)
    return metrics


def translation_metrics(references: Sequence[str], hypotheses: Sequence[str],
                        lowercase: bool = False) -> dict:
    """Corpus BLEU and chrF of detokenized hypotheses against one reference each (sacrebleu's
    defaults: 13a tokenization, case-sensitive unless ``lowercase``), with sacrebleu's signatures
    and the share of exact matches."""
    import sacrebleu

    references, hypotheses = list(references), list(hypotheses)
    bleu = sacrebleu.metrics.BLEU(lowercase=lowercase)
    chrf = sacrebleu.metrics.CHRF(lowercase=lowercase)
    bleu_score = bleu.corpus_score(hypotheses, [references])
    chrf_score = chrf.corpus_score(hypotheses, [references])
    fold = str.lower if lowercase else str
    exact = sum(fold(h.strip()) == fold(r.strip()) for h, r in zip(hypotheses, references))
    return {
        "bleu": round(bleu_score.score, 2),
        "chrf": round(chrf_score.score, 2),
        "n": len(references),
        "exact_match": exact / max(len(references), 1),
        "bleu_signature": str(bleu.get_signature()),
        "chrf_signature": str(chrf.get_signature()),
    }


def caption_metrics(references: Sequence[Sequence[str]], hypotheses: Sequence[str]) -> dict:
    """Corpus BLEU-4 (sacrebleu, 13a tokens, case-insensitive) of one caption per image against
    all of that image's reference captions (any number each), and the share of images whose
    caption equals one of its references (case and spacing aside)."""
    import sacrebleu

    references = [list(refs) for refs in references]
    width = max((len(refs) for refs in references), default=1)
    streams = [[refs[i] if i < len(refs) else None for refs in references] for i in range(width)]
    bleu = sacrebleu.metrics.BLEU(lowercase=True)
    score = bleu.corpus_score(list(hypotheses), streams)

    def fold(text: str) -> str:
        return " ".join(text.lower().split())

    exact = sum(fold(h) in {fold(r) for r in refs} for h, refs in zip(hypotheses, references))
    return {"bleu": round(score.score, 2), "exact_match": exact / max(len(references), 1),
            "n": len(references), "bleu_signature": str(bleu.get_signature())}
