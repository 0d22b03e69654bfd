"""``seqtasks compare``: train several configurations of one task under the same seed and budget
and report them side by side.

    REPORT_DIR/
      runs/<name>/      each run's export root (versions, logs/, .resume/ while unfinished)
      results.csv       one row per run: main score, training time, parameters, tokens/s
      report.md         the same table in Markdown, with the figures
      learning_curves.png   every run's curves on one figure
      <figure>.png      the task's own comparison figure, if it has one (translation: every run's
                        attention heatmap for one sentence, side by side)

The task is any ``seqtasks.task.Task``, handed in by the caller (the CLI), so this module stays
below ``pipelines/``. Runs are resumable: a run whose newest export was trained
with the same config is read back, not retrained; an interrupted run continues from its last
epoch through the pipeline's own resume state.
"""

from __future__ import annotations

import csv
import functools
import io
import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from seqtasks import config as config_lib
from seqtasks.errors import ConfigError, ModelError
from seqtasks.export.layout import read_metadata, resolve_export, versions
from seqtasks.task.capabilities import DrawsComparison
from seqtasks.io import atomic_write_text
from seqtasks.recipe_file import load_yaml
from seqtasks.training import lifecycle

COLUMNS = ("run", "score", "train_seconds", "epochs_run", "stopped_by", "parameters",
           "tokens_per_second", "export")


@dataclass
class Run:
    name: str
    changes: dict[str, Any]  # the keys this run sets on top of the base config
    config: Any


# --- Planning ----------------------------------------------------------------------------------

def parse_grid(items: list[str]) -> dict[str, list[str]]:
    """``["cell=rnn,lstm", "bidirectional=false,true"]`` -> {key: [values]} in the given order."""
    grid = {}
    for item in items:
        key, sep, values = item.partition("=")
        choices = [v.strip() for v in values.split(",") if v.strip()]
        if not sep or not key.strip() or not choices:
            raise ConfigError(f"--grid expects key=value1,value2,..., got {item!r}")
        grid[key.strip()] = choices
    return grid


def grid_runs(base, grid: dict[str, list[str]]) -> list[Run]:
    """Every combination of the grid's values, applied to ``base`` (checked like ``--set``)."""
    runs = []
    for values in itertools.product(*grid.values()):
        changes = dict(zip(grid, values))
        runs.append(Run(_name(changes), changes, config_lib.replace(base, **changes)))
    return runs


def file_runs(base, path: str | Path) -> list[Run]:
    """Runs from a YAML/JSON list of mappings (each optionally with a ``name``)."""
    items = load_yaml(path)  # size-limited, aliases refused, file:line errors
    if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
        raise ConfigError(f"{path}: expected a list of mappings, e.g. '- {{cell: gru}}'")
    runs = []
    for i, item in enumerate(items, 1):
        changes = {k: v for k, v in item.items() if k != "name"}
        try:
            config = config_lib.replace(base, **changes)
        except ConfigError as e:
            raise ConfigError(f"{path}: run {i}: {e}") from None
        runs.append(Run(str(item.get("name") or _name(changes) or f"run{i}"), changes, config))
    return runs


def _name(changes: dict[str, Any]) -> str:
    return "_".join(f"{k}-{v}" for k, v in changes.items()).replace("/", "-").lower()


def check_unique(runs: list[Run]) -> None:
    names = [run.name for run in runs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(f"runs share the name(s) {', '.join(duplicates)}: give each a 'name'")


# --- Running -----------------------------------------------------------------------------------

def finished_export(root: Path, config) -> Path | None:
    """The newest export under ``root`` if it was trained with ``config`` and no run is pending."""
    if (root / ".resume").exists() or not root.is_dir() or not versions(root):
        return None
    export_dir = resolve_export(root)
    if read_metadata(export_dir).get("config") != config_lib.to_dict(config):
        return None
    return export_dir


def run_all(train: Callable, runs: list[Run], train_paths, valid_paths, out_dir: str | Path,
            verbose=0, log: Callable[[str], None] = print, *,
            main_score: tuple[str, str]) -> list[dict]:
    """Train every run not finished yet (``train(config, train_paths, valid_paths, out_dir,
    verbose=...)`` -> export dir, a pipeline's ``train``); one result dict per run, scored by
    ``main_score`` (the task's: metric name, "max" or "min")."""
    check_unique(runs)
    results = []
    for i, run in enumerate(runs, 1):
        root = Path(out_dir) / "runs" / run.name
        export_dir = finished_export(root, run.config)
        if export_dir is None:
            log(f"[{i}/{len(runs)}] {run.name}: training")
            export_dir = Path(train(run.config, train_paths, valid_paths, root, verbose=verbose))
        else:
            log(f"[{i}/{len(runs)}] {run.name}: finished earlier, not retrained ({export_dir})")
        results.append(result_row(run, export_dir, main_score))
    return results


def task_main_score(task) -> tuple[str, str]:
    """The score the task declares (``Task.main_score``), before any run trains."""
    if not task.main_score:
        raise ConfigError(f"compare: the {task.name} task declares no main_score to rank its "
                          "runs by; set main_score = (metric, 'max' or 'min') on its Task")
    return task.main_score


def result_row(run: Run, export_dir: Path, main_score: tuple[str, str]) -> dict:
    metadata = read_metadata(export_dir)
    training, metrics = metadata.get("training", {}), metadata.get("metrics", {})
    score_name, mode = main_score
    if score_name not in metrics:
        raise ModelError(f"{export_dir}: no {score_name} among the metrics in seqtasks.json "
                         f"({', '.join(sorted(metrics))}); retrain it (delete the run's folder)")
    return {"run": run.name, **{k: str(v) for k, v in run.changes.items()},
            "score_name": score_name, "score_mode": mode, "score": metrics[score_name],
            "train_seconds": training.get("train_seconds"),
            "epochs_run": training.get("epochs_run"), "stopped_by": training.get("stopped_by"),
            "parameters": training.get("parameters"),
            "tokens_per_second": training.get("train_tokens_per_second",
                                              training.get("train_images_per_second")),
            "export": str(export_dir), "history": training.get("history", {})}


# --- Reporting ---------------------------------------------------------------------------------

def write_report(task, results: list[dict], runs: list[Run], out_dir: str | Path,
                 settings: dict[str, Any], valid_paths=None) -> Path:
    """results.csv, learning_curves.png, attention.png (when the models attend) and report.md."""
    from seqtasks.evaluation import plots

    out_dir = Path(out_dir)
    keys = list(dict.fromkeys(k for run in runs for k in run.changes))
    columns = ["run", *keys, *COLUMNS[1:]]
    score_name, mode = results[0]["score_name"], results[0]["score_mode"]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([score_name if c == "score" else c for c in columns])
    for row in results:
        writer.writerow(["" if row.get(c) is None else row.get(c) for c in columns])
    atomic_write_text(out_dir / "results.csv", buffer.getvalue())

    figures = [plots.comparison_curves_png({r["run"]: r["history"] for r in results},
                                           out_dir / "learning_curves.png",
                                           title=f"{task.name}: learning curves")]
    exports = {r["run"]: Path(r["export"]) for r in results}
    extra = task.comparison_figure(exports, valid_paths, out_dir / "comparison.png") \
        if isinstance(task, DrawsComparison) else None
    if extra:
        figures.append(extra)

    best = (max if mode == "max" else min)(results, key=lambda r: r["score"])
    lines = [f"# seqtasks compare: {task.name}", "",
             *(f"- {k}: {v}" for k, v in settings.items()),
             f"- main score: {score_name} ({'higher' if mode == 'max' else 'lower'} is better); "
             f"best: **{best['run']}**", "",
             "| " + " | ".join(score_name if c == "score" else c for c in columns[:-1]) + " |",
             "|" + "---|" * (len(columns) - 1)]
    for row in results:
        cells = [_cell(row.get(c)) for c in columns[:-1]]
        if row is best:
            cells[0] = f"**{cells[0]}**"
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", *(f"![{f.stem}]({f.name})" for f in figures), ""]
    atomic_write_text(out_dir / "report.md", "\n".join(lines))
    return out_dir / "report.md"


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def compare(task, runs: list[Run], train_paths, valid_paths, out_dir, settings: dict[str, Any],
            verbose=0, log: Callable[[str], None] = print) -> Path:
    """Train what is not finished, then write the report; returns the path of report.md."""
    score = task_main_score(task)
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    results = run_all(functools.partial(lifecycle.train, task), runs, train_paths, valid_paths,
                      out_dir, verbose, log, main_score=score)
    return write_report(task, results, runs, out_dir, settings, valid_paths)
