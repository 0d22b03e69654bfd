"""The few exception types users see. Each says what went wrong, where, and how to fix it."""

from __future__ import annotations


class SeqtasksError(Exception):
    """Base class: the CLI prints these as one line and exits non-zero."""


class DataError(SeqtasksError):
    """Bad input data, located by file and (when known) line."""

    def __init__(self, path, problem: str, line: int | None = None, hint: str | None = None):
        self.path = str(path)
        self.line = line
        self.problem = problem
        self.hint = hint
        where = f"{self.path}:{line}" if line is not None else self.path
        message = f"{where}: {problem}"
        if hint:
            message += f" ({hint})"
        super().__init__(message)


class ConfigError(SeqtasksError):
    """An unknown or badly typed configuration key or value."""


class ModelError(SeqtasksError):
    """A model directory that is missing, incomplete or not a seqtasks export."""


class TrainingError(SeqtasksError):
    """Training diverged or cannot continue (e.g. NaN loss, mismatched resume state)."""
