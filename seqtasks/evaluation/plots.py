"""Matplotlib figures written as PNG files (headless backend, atomic writes): confusion matrix,
learning curves (one run, or several runs compared), attention heatmaps."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from seqtasks.io import atomic_path


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def confusion_matrix_png(matrix: list[list[int]], labels: list[str], path: str | Path,
                         title: str = "Confusion matrix") -> Path:
    plt = _pyplot()
    size = max(3.0, 0.6 * len(labels) + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    image = ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    ax.set_title(title)
    peak = max((max(row) for row in matrix), default=0)
    for i, row in enumerate(matrix):
        for j, count in enumerate(row):
            ax.text(j, i, str(count), ha="center", va="center",
                    color="white" if count > peak / 2 else "black")
    fig.colorbar(image, ax=ax, fraction=0.046)
    fig.tight_layout()
    return _save(fig, plt, path)


def learning_curves_png(history: dict[str, list[float]], path: str | Path,
                        title: str = "Learning curves") -> Path:
    plt = _pyplot()
    metrics = sorted({k.removeprefix("val_") for k in history})
    fig, axes = plt.subplots(1, len(metrics), figsize=(4 * len(metrics), 3.2), squeeze=False)
    for ax, name in zip(axes[0], metrics):
        for key, style in ((name, "-"), (f"val_{name}", "--")):
            if key in history:
                ax.plot(range(1, len(history[key]) + 1), history[key], style, label=key)
        ax.set_xlabel("epoch")
        ax.set_title(name)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, plt, path)


def _save(fig, plt, path) -> Path:
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
    return path


def attention_png(weights, source_tokens: list[str], output_tokens: list[str], path: str | Path,
                  title: str = "Attention") -> Path:
    """Heatmap of attention weights [output tokens, source tokens] (rows: output steps)."""
    return attention_grid_png([(title, weights, source_tokens, output_tokens)], path)


def attention_grid_png(panels: list[tuple], path: str | Path) -> Path:
    """Attention heatmaps side by side; each panel (title, weights, source tokens, output tokens)."""
    plt = _pyplot()
    width = max(4.0, max(0.45 * len(p[2]) + 2 for p in panels))
    height = max(3.0, max(0.35 * len(p[3]) + 1.5 for p in panels))
    fig, axes = plt.subplots(1, len(panels), figsize=(width * len(panels), height), squeeze=False)
    for ax, (title, weights, source_tokens, output_tokens) in zip(axes[0], panels):
        image = ax.imshow(weights, cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
        ax.set_xticks(range(len(source_tokens)), source_tokens, rotation=60, ha="right")
        ax.set_yticks(range(len(output_tokens)), output_tokens)
        ax.set_xlabel("source")
        ax.set_ylabel("output")
        ax.set_title(title)
        fig.colorbar(image, ax=ax, fraction=0.046)
    fig.tight_layout()
    return _save(fig, plt, path)


def comparison_curves_png(histories: dict[str, dict[str, list[float]]], path: str | Path,
                          title: str = "Learning curves") -> Path:
    """One panel per metric the runs share (loss, val_loss, ...), one line per run."""
    plt = _pyplot()
    shared = set.intersection(*(set(h) for h in histories.values())) if histories else set()
    metrics = sorted(shared, key=lambda k: (k.removeprefix("val_"), k)) or ["loss"]
    fig, axes = plt.subplots(1, len(metrics), figsize=(4 * len(metrics), 3.4), squeeze=False)
    for ax, name in zip(axes[0], metrics):
        for run, history in histories.items():
            values = history.get(name, [])
            ax.plot(range(1, len(values) + 1), values, marker="." if len(values) < 3 else None,
                    label=run)
        ax.set_xlabel("epoch")
        ax.set_title(name)
    axes[0][-1].legend(fontsize="small")
    fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, plt, path)


def attention_maps_png(image, maps, words: list[str], path: str | Path,
                       title: str = "Attention", columns: int = 4) -> Path:
    """One panel per word: ``image`` [H, W, 3] with that step's attention ``maps`` [words, grid
    height, grid width] stretched over it (brighter = more attention)."""
    import numpy as np

    plt = _pyplot()
    height, width = image.shape[:2]
    rows = max(1, -(-len(words) // columns))
    scale = 3.0 / max(height, width)  # inches per pixel: the longer side of a panel is 3"
    fig, axes = plt.subplots(rows, columns, squeeze=False,
                             figsize=(scale * width * columns,
                                      (scale * height + 0.45) * rows + 0.5))  # + word titles
    for ax in axes.ravel():
        ax.axis("off")
    for ax, word, weights in zip(axes.ravel(), words, maps):
        ax.imshow(image, cmap="gray")
        ax.imshow(np.asarray(weights), cmap="inferno", alpha=0.6, interpolation="bilinear",
                  extent=(0, width, height, 0), vmin=0.0)
        ax.set_title(word, fontsize=11)
    fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, plt, path)


@dataclasses.dataclass
class Panel:
    """One line chart: ``lines`` are (label, xs, ys, matplotlib format such as "--")."""

    title: str
    xlabel: str
    ylabel: str
    lines: list[tuple]
    log_y: bool = False


def line_panels_png(panels: list[Panel], path: str | Path, title: str = "",
                    columns: int = 2) -> Path:
    """Line charts in a grid, ``columns`` wide (gradient norms over time or steps, scores)."""
    plt = _pyplot()
    columns = min(columns, len(panels))
    rows = -(-len(panels) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.6 * columns, 3.4 * rows), squeeze=False)
    for ax, panel in zip(axes.flat, panels):
        for label, xs, ys, style in panel.lines:
            ax.plot(xs, ys, style, label=label, linewidth=1.2)
        if panel.log_y:
            ax.set_yscale("log")
        ax.set_title(panel.title, fontsize="medium")
        ax.set_xlabel(panel.xlabel)
        ax.set_ylabel(panel.ylabel)
        ax.legend(fontsize="x-small")
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, plt, path)

