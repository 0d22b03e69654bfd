"""Labelled text (sentiment-style): a text column and a label column in a table file."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from seqtasks.data.tables import read_table, require_columns, row_line
from seqtasks.errors import DataError


@dataclasses.dataclass
class LabelledText:
    texts: list[str]
    labels: list[str]
    path: str
    lines: list[int | None]  # physical line of each row, for error messages

    def __len__(self) -> int:
        return len(self.texts)

    def joined(self, other: "LabelledText") -> "LabelledText":
        """This file's rows, then ``other``'s (a refit's train + valid)."""
        return LabelledText(self.texts + other.texts, self.labels + other.labels,
                            f"{self.path} + {other.path}", self.lines + other.lines)


def read_labelled(path: str | Path, text_column: str = "text", label_column: str = "label"
                  ) -> LabelledText:
    """Read texts and labels; empty labels are errors, empty texts are allowed."""
    frame = read_table(path)
    require_columns(frame, path, [text_column, label_column],
                    option="--set text_column=... label_column=...")
    texts = frame[text_column].map(_as_text).tolist()
    labels = frame[label_column].map(_as_text).str.strip().tolist()
    for position, label in enumerate(labels):
        if not label:
            raise DataError(path, f"empty value in column '{label_column}'",
                            line=row_line(frame, position), hint="every row needs a label")
    lines = [row_line(frame, position) for position in range(len(frame))]
    return LabelledText(texts=texts, labels=labels, path=str(path), lines=lines)


def check_known_labels(data: LabelledText, known: list[str]) -> None:
    """Raise on the first label the model was not trained on (evaluation data)."""
    known_set = set(known)
    for position, label in enumerate(data.labels):
        if label not in known_set:
            raise DataError(data.path, f"label '{label}' was never seen in training",
                            line=data.lines[position], hint=f"the model knows: {', '.join(known)}")


def _as_text(value) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(value)
