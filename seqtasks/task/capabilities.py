"""What only some tasks offer, beside the training contract (``seqtasks.task.base.Task``): each
is a ``typing.Protocol`` that callers (the CLI, ``seqtasks compare``) check with ``isinstance``
before they use it, so the base class neither carries these methods nor names the tasks that
have them.

    if isinstance(task, PlotsAttention):
        task.attention_plot(predictor, "a sentence", "maps.png")

A subclass that inherits a capability it cannot offer sets the method to ``None`` (as Python
does with ``__hash__ = None``): ``isinstance`` then says no.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class FormatsMetrics(Protocol):
    """Evaluation metrics as readable text (``seqtasks evaluate`` without ``--json``)."""

    def format_metrics(self, metrics: dict) -> str: ...


@runtime_checkable
class PlotsAttention(Protocol):
    """``seqtasks attention``: the attention maps of one input's output, as a PNG."""

    def attention_plot(self, predictor, source, path, beam_size: int = 1) -> Path: ...


@runtime_checkable
class ProbesGradients(Protocol):
    """``seqtasks diagnose``: a ``seqtasks.diagnostics.flow.GradientProbe`` over the export's
    first recurrent layer, on the first ``batch_size`` examples of ``data_paths``."""

    def gradient_probe(self, export_dir, data_paths, batch_size: int) -> Any: ...


@runtime_checkable
class DrawsComparison(Protocol):
    """``seqtasks compare``: one figure over every run's export (None: nothing to draw)."""

    def comparison_figure(self, exports: dict[str, Path], valid_paths, path: Path
                          ) -> Path | None: ...

