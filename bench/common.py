"""Helpers shared by the bench scripts (not a benchmark itself).

Every script in bench/ is run by hand from the repository root (``python bench/NAME.py ...``; the
test suite never runs them). Python then puts bench/ on ``sys.path``, so the scripts
``import common``; this module puts the repository root there too, so ``pipelines`` imports
without an editable install.

What it gives them:

- the places: ``REPO``, ``RESULTS`` (bench/results, whose JSON / Markdown / PNG files are
  committed and quoted by the README and docs/benchmarks.md), ``DATA`` (the prepared public data
  sets: ``$SEQTASKS_BENCH_DATA``, by default ../shared/data beside the clone; docs/data.md says
  how to prepare them with ``seqtasks data prepare``; never copied into the repository) and ``RECIPES`` (recipes/*.yaml, the configurations measured);
- ``add_arguments``: the options every script shares: ``--results DIR`` (where the result file
  goes; smoke runs use a scratch folder such as /tmp/benchsmoke), ``--out DIR`` (work folder for
  exports and generated data; default a new temporary folder, never under bench/results) and,
  for scripts that train from a recipe, ``--config FILE`` and ``--set KEY=VALUE ...``;
- ``resolve_config``: recipe file <- ``--set`` overrides, as ``seqtasks train --config`` does it,
  plus the entries every result file records about it (recipe, overrides, resolved config);
- ``environment`` and ``write_result``: one result file ``RESULTS/<name>.json`` per measured run,
  with the command line and the machine's state, also printed as one JSON line (the last line of
  stdout).
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import math
import os
import platform
import shlex
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
# The prepared public data sets: SEQTASKS_BENCH_DATA, or ../shared/data beside the clone.
DATA = Path(os.environ.get("SEQTASKS_BENCH_DATA", REPO.parent / "shared" / "data"))
RECIPES = REPO / "recipes"

if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # pipelines/ without an editable install

# an export's seqtasks.json, read (and refused when unreadable) the library's way
from seqtasks.export.layout import read_metadata, resolve_export  # noqa: E402,F401


def file_lines(path, keepends: bool = False) -> list[str]:
    """A text file's lines, split at "\n" only: ``str.splitlines`` also splits at U+0085,
    U+2028 and other characters that data files hold inside their texts (MR does)."""
    text = Path(path).read_text(encoding="utf-8")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line + "\n" for line in lines] if keepends else lines


def log(message: str) -> None:
    """Progress, on stderr (stdout ends with the result's JSON line)."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def relative(path) -> str:
    """``path`` relative to the repository root when it lies inside it, else absolute."""
    path = Path(path).resolve()
    try:
        return str(path.relative_to(REPO))
    except ValueError:
        return str(path)


# --- the machine -------------------------------------------------------------------------------

def _now() -> str:
    return datetime.datetime.now().astimezone().isoformat(timespec="seconds")


def _load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _version(module: str, *distributions: str) -> str | None:
    """A package's version without importing it (TensorFlow takes seconds to import)."""
    if module in sys.modules:
        return getattr(sys.modules[module], "__version__", None)
    for name in distributions:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def environment() -> dict:
    """Date and time, load average (1, 5, 15 min), CPUs, Python / TensorFlow / Keras versions."""
    return {"date": _now(), "load_average": _load_average(), "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "tensorflow": _version("tensorflow", "tensorflow", "tensorflow-cpu"),
            "keras": _version("keras", "keras"),
            "machine": platform.machine(), "platform": platform.platform()}


def started() -> dict:
    """A start mark for ``write_result``: time, load average and the monotonic clock."""
    return {"date": _now(), "load_average": _load_average(), "monotonic": time.monotonic()}


SCRIPT_START = started()


def command_line() -> list[str]:
    """``sys.argv`` with the script as given, e.g. ``["bench/ner.py", "--set", "cell=gru"]``."""
    return list(sys.argv)


def timed_process(argv: list[str], env: dict | None = None) -> tuple[float, float]:
    """Run ``argv`` from the repository root (stdout discarded); its wall seconds and peak RSS
    in MiB (``wait4``: the process's own high-water mark). Exits if it fails."""
    import subprocess

    start = time.perf_counter()
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, cwd=REPO)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        sys.exit(f"bench: {shlex.join(argv[1:4])} ... failed (exit {process.returncode})")
    return time.perf_counter() - start, usage.ru_maxrss / 1024


def child_result(script: str, spec: dict, env: dict | None = None, python: str | None = None,
                 label: str | None = None) -> dict:
    """Run ``script --one SPEC`` in a fresh process (``python``, default this interpreter) and
    return the JSON object on the last line of its stdout; exits with its stderr if it fails.
    The benchmarks measure each contender this way, so none inherits another's state."""
    import subprocess

    out = subprocess.run([python or sys.executable, script, "--one", json.dumps(spec)],
                         capture_output=True, text=True, env=env)
    if out.returncode:
        sys.exit(f"{label or spec} run failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def answer_child(args, run) -> bool:
    """The child's side of ``child_result``: given ``--one SPEC`` (``add_arguments(...,
    child=True)``), print ``run(spec)`` as the JSON line ``child_result`` reads and return True;
    without it, return False (this is the parent)."""
    if not args.one:
        return False
    print(json.dumps(run(json.loads(args.one))), flush=True)
    return True


def traced_ops(trace_dir: Path):
    """``(op name, milliseconds)`` for every op event of the TF profiler trace in ``trace_dir``
    on the executor's op threads; names are ``scope/op_name:OpType``."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    space = xplane_pb2.XSpace()
    space.ParseFromString(next(Path(trace_dir).rglob("*.xplane.pb")).read_bytes())
    for plane in space.planes:
        for line in plane.lines:
            if not line.name.startswith("tf_Compute"):  # the executor's op threads
                continue
            for event in line.events:
                name = plane.event_metadata[event.metadata_id].name
                # The executor's own spans ("ExecutorState::Process", which enclose ops) are
                # not ops.
                if ":" in name and "::" not in name:
                    yield name, event.duration_ps / 1e9


# --- options -----------------------------------------------------------------------------------

def add_arguments(parser: argparse.ArgumentParser, recipe: str | None = None,
                  config: bool = True, out: bool = True, child: bool = False) -> None:
    """``--results``; with ``out``, ``--out``; with ``config``, ``--config`` (default:
    ``recipe``, a path relative to the repository root, or the per-part recipes the script
    names) and ``--set``; with ``child``, the hidden ``--one SPEC`` of ``child_result``."""
    parser.add_argument("--results", type=Path, default=RESULTS, metavar="DIR",
                        help=f"where the result file goes (default: {relative(RESULTS)}/, "
                             "which is committed; smoke runs: a scratch folder)")
    if out:
        parser.add_argument("--out", type=Path, default=None, metavar="DIR",
                            help="work folder for exports and generated data (default: a new "
                                 "temporary folder; never under bench/results)")
    if config:
        parser.add_argument("--config", type=Path, default=None, metavar="FILE",
                            help=f"config file (default: {recipe or 'the part recipe'})")
        parser.add_argument("--set", nargs="+", action="extend", default=[],
                            metavar="KEY=VALUE", dest="overrides",
                            help="config overrides on top of the config file, e.g. "
                                 "time_budget=5 (minutes) epochs=3")
    if child:
        parser.add_argument("--one", help=argparse.SUPPRESS)


def recipe_path(args, default: str) -> Path:
    """``--config`` if given, else the recipe ``default`` (relative to the repository root)."""
    path = args.config if getattr(args, "config", None) is not None else REPO / default
    if not path.is_file():
        sys.exit(f"bench: config file {path} not found")
    return path.resolve()


def resolve_config(config_class, path: Path, overrides: list[str]):
    """``(config, entries)``: the config resolved from ``path`` and ``overrides`` (exits on a
    bad key or value), and what a result file records about it."""
    from seqtasks import config as config_lib
    from seqtasks.errors import ConfigError

    try:
        config = config_lib.resolve(config_class, path, list(overrides))
    except ConfigError as e:
        sys.exit(f"bench: {e}")
    return config, {"recipe": relative(path), "overrides": list(overrides),
                    "config": config_lib.to_dict(config)}


def work_dir(args, prefix: str) -> Path:
    """``--out`` (created), else a new temporary folder; never inside the results folder."""
    if args.out is None:
        return Path(tempfile.mkdtemp(prefix=f"bench-{prefix}-"))
    out = args.out.resolve()
    for results in {RESULTS.resolve(), Path(args.results).resolve()}:
        if out == results or results in out.parents:
            sys.exit(f"bench: --out {out} is inside the results folder {results}; models and "
                     "work files go elsewhere")
    out.mkdir(parents=True, exist_ok=True)
    return out


# --- what a run produced -----------------------------------------------------------------------

def _rounded(value, digits: int = 4):
    if isinstance(value, float) and math.isfinite(value):
        return round(value, digits)
    return value


def training_entries(metadata: dict) -> dict:
    """``training``: the export's training summary as the lifecycle measured it (train_seconds,
    epochs_run, best_epoch, stopped_by, train_tokens_per_second or train_images_per_second,
    parameters, ...), and ``history``: its per-epoch curves (4 decimals)."""
    training = dict(metadata["training"])
    history = training.pop("history", {})
    return {"training": training,
            "history": {key: [_rounded(v) for v in values] for key, values in history.items()}}


def copy_report(report: Path, name: str, results_dir: Path) -> list[str]:
    """Copy a ``seqtasks compare`` report (report.md and its PNG figures) into ``results_dir``
    as ``<name>.md`` and ``<name>-<figure>.png`` (links rewritten); returns the files written."""
    from seqtasks.io import atomic_path, atomic_write_text

    results_dir = Path(results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    text = report.read_text(encoding="utf-8")
    written = []
    for figure in sorted(report.parent.glob("*.png")):
        target = results_dir / f"{name}-{figure.name}"
        with atomic_path(target) as tmp:
            shutil.copyfile(figure, tmp)
        text = text.replace(f"({figure.name})", f"({target.name})")
        written.append(str(target))
    atomic_write_text(results_dir / f"{name}.md", text)
    return [str(results_dir / f"{name}.md"), *written]


def write_result(name: str, payload: dict, results_dir=None, start: dict | None = None) -> Path:
    """Write ``results_dir/<name>.json`` atomically (indent 2) with the command line and the
    environment added, print it as one JSON line (the last line of stdout so far) and return its
    path. ``start`` (from ``started()``, default: when the script started) dates the run."""
    from seqtasks.io import atomic_write_text

    start = start or SCRIPT_START
    results_dir = Path(results_dir if results_dir is not None else RESULTS)
    results_dir.mkdir(parents=True, exist_ok=True)
    result = {"name": name, **payload,
              "argv": command_line(),
              "command": "python " + shlex.join(command_line()),
              "environment": {**environment(), "started": start["date"],
                              "load_average_at_start": start["load_average"],
                              "wall_seconds": round(time.monotonic() - start["monotonic"], 1)}}
    path = results_dir / f"{name}.json"
    atomic_write_text(path, json.dumps(result, indent=2, default=str) + "\n")
    log(f"wrote {path}")
    print(json.dumps(result, default=str), flush=True)
    return path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (for a server a benchmark starts)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
