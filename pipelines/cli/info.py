"""``seqtasks info``: what is installed and what hardware TensorFlow sees; ``seqtasks info DIR``:
what an export is, read from its ``seqtasks.json`` (no TensorFlow needed for that).

Both return plain dicts (``--json`` prints them as they are) and a text rendering.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import re
import sys
from pathlib import Path

# Distributions whose versions decide whether an export loads and behaves the same.
CORE = {"seqtasks": "seqtasks", "tensorflow": "tensorflow", "keras": "keras",
        "tensorflow-text": "tensorflow_text"}
MODEL_CARD = "MODEL_CARD.md"


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def extras() -> dict[str, dict]:
    """Each optional extra of seqtasks (``pip install "seqtasks[NAME]"``): installed or not, and
    the packages it needs that are missing."""
    try:
        metadata = importlib.metadata.metadata("seqtasks")
    except importlib.metadata.PackageNotFoundError:
        return {}
    needs: dict[str, list[str]] = {name: [] for name in metadata.get_all("Provides-Extra") or []}
    for requirement in metadata.get_all("Requires-Dist") or []:
        marker = re.search(r"""extra\s*==\s*["']([^"']+)["']""", requirement)
        name = re.match(r"[A-Za-z0-9._-]+", requirement)
        if marker and name and marker.group(1) in needs:
            needs[marker.group(1)].append(name.group(0))
    report = {}
    for extra, packages in needs.items():
        missing = [package for package in packages if _version(package) is None]
        report[extra] = {"installed": not missing, "missing": missing}
    return report


def _cpu_threads() -> int | None:
    try:
        return len(os.sched_getaffinity(0))  # what this process may use (cgroups, taskset)
    except AttributeError:  # not Linux
        return os.cpu_count()


def _gpus() -> list[str]:
    """The GPUs TensorFlow sees (imports TensorFlow: a few seconds)."""
    from seqtasks.startup import quiet_tensorflow

    quiet_tensorflow()
    import tensorflow as tf

    names = []
    for device in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(device)
        names.append(f"{device.name} ({details.get('device_name', 'unknown')})")
    return names


def environment(with_gpus: bool = True) -> dict:
    """Versions of seqtasks and what it runs on, as spaCy's and flair's environment reports."""
    from seqtasks import __version__

    versions = {name: _version(distribution) for name, distribution in CORE.items()}
    versions["seqtasks"] = versions["seqtasks"] or __version__
    return {"versions": {**versions, "python": platform.python_version()},
            "extras": extras(),
            "platform": platform.platform(),
            "cpu_threads": _cpu_threads(),
            "gpus": _gpus() if with_gpus else None,
            "executable": sys.executable}


def export_info(model_dir: str | Path, version: int | None = None) -> dict:
    """What the export in ``model_dir`` (newest or ``version``) says about itself."""
    from seqtasks.export.layout import read_metadata, resolve_export

    export_dir = resolve_export(model_dir, version)
    metadata = read_metadata(export_dir)
    config = metadata.get("config") or {}
    vectors = {key: config[key] for key in ("embeddings", "source_embeddings",
                                            "target_embeddings", "init_from") if config.get(key)}
    card = export_dir / MODEL_CARD
    return {"export_dir": str(export_dir), "task": metadata.get("task"),
            "kind": metadata.get("kind"), "version": metadata.get("version"),
            "exported_at": metadata.get("exported_at"),
            "data": (metadata.get("metrics") or {}).get("data"),
            "metrics": {key: value for key, value in (metadata.get("metrics") or {}).items()
                        if key != "data"},
            "config": config, "vectors": vectors,
            "signatures": metadata.get("signatures"),
            "library_versions": metadata.get("library_versions"),
            "model_card": str(card) if card.exists() else None}


def _scalar(value) -> str:
    from pipelines.cli.config_table import yaml_scalar

    if isinstance(value, (bool, str)) or value is None:
        return yaml_scalar(value)
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return "none" if value is None else str(value)


def _lines(rows: dict, indent: str = "  ") -> list[str]:
    width = max((len(key) for key in rows), default=0)
    return [f"{indent}{key:<{width}}  {_scalar(value)}" for key, value in rows.items()]


def format_environment(report: dict) -> str:
    lines = ["seqtasks environment", "", "versions:", *_lines(report["versions"]), "", "extras:"]
    for extra, state in report["extras"].items():
        lines.append(f"  {extra:<8}" + ("installed" if state["installed"] else
                                        f"not installed (missing: {', '.join(state['missing'])};"
                                        f" pip install \"seqtasks[{extra}]\")"))
    gpus = report["gpus"]
    lines += ["", *_lines({"platform": report["platform"], "cpu_threads": report["cpu_threads"],
                           "gpus": ", ".join(gpus) if gpus else "none (CPU only)",
                           "python": report["executable"]}, indent="")]
    return "\n".join(lines)


def format_export(report: dict) -> str:
    head = {key: report[key] for key in ("export_dir", "task", "kind", "version", "exported_at",
                                         "data")}
    head["vectors"] = ", ".join(f"{k}={v}" for k, v in report["vectors"].items()) or "none"
    head["model_card"] = report["model_card"] or "none"
    lines = _lines(head, indent="")
    lines += ["", "metrics:", *(_lines(report["metrics"]) or ["  none"])]
    lines += ["", "config:", *(_lines(report["config"]) or ["  none"])]
    return "\n".join(lines)
