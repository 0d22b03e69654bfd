"""First-request latency with and without model warmup.

Run by hand from the repository root (not part of the tests; about 2-3 minutes):

    python bench/warmup.py                       # sentiment, default config, 3 repeats
    python bench/warmup.py --model saved_models/sst2 --repeats 5

Every seqtasks export holds ``assets.extra/tf_serving_warmup_requests``, which the server replays
before a version takes traffic. This measures what that buys: the same export is served by a
fresh ``seqtasks-model-server`` process (REST on 127.0.0.1) with ``--enable_model_warmup=true``
and ``=false``, alternately, ``--repeats`` times each. For each start: seconds from the process
start until the model answers its status (``ready_seconds``: the warmup's cost moves here), the
latency of the first predict request (one sentence, not one of the warmup texts), and the median
of the next ``--requests`` requests (``steady_ms``). Medians over the repeats are reported.

No recipe: the model is ``--model`` (a sentiment export root), or, without it, a sentiment model
with the default config trained for one epoch on the bundled sample (accuracy is irrelevant
here) into OUT/sentiment, OUT being ``--out DIR`` (reused when it already holds an export) or a
new temporary folder. Writes bench/results/warmup.json (``--results DIR`` for another folder),
also printed as one JSON line, the last line of stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import common

REPO = common.REPO
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(REPO)}
SAMPLE = REPO / "data" / "sentiment"
SENTENCE = "an intelligent , moving and often very funny film about growing up"


def default_model(work: Path) -> Path:
    root = work / "sentiment"
    if not (root / "1").exists():
        subprocess.run([sys.executable, "-m", "pipelines.cli", "train", "sentiment", "--train",
                        str(SAMPLE / "train.tsv"), "--valid", str(SAMPLE / "valid.tsv"),
                        "--out", str(root), "--epochs", "1", "--quiet"],
                       env=ENV, check=True, cwd=REPO)
    return root


def post_ms(url: str, body: bytes) -> float:
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    start = time.perf_counter()
    with urllib.request.urlopen(request, timeout=60) as response:
        response.read()
    return (time.perf_counter() - start) * 1000


def one_start(model: Path, warmup: bool, requests: int, log_path: Path) -> dict:
    """A fresh server process: time to ready, first request, then steady requests."""
    rest = common.free_port()
    argv = [sys.executable, "-m", "seqtasks.serving.model_server", f"--port={common.free_port()}",
            f"--rest_api_port={rest}", "--model_name=sentiment", f"--model_base_path={model}",
            f"--enable_model_warmup={'true' if warmup else 'false'}",
            "--file_system_poll_wait_seconds=0"]
    started = time.perf_counter()
    with log_path.open("w") as log:
        server = subprocess.Popen(argv, env=ENV, stdout=subprocess.DEVNULL, stderr=log, cwd=REPO)
    try:
        base = f"http://127.0.0.1:{rest}/v1/models/sentiment"
        deadline = time.monotonic() + 180
        while True:
            if server.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"bench: the server did not start; see {log_path}")
            try:
                with urllib.request.urlopen(base, timeout=5):
                    break
            except OSError:
                time.sleep(0.05)
        ready = time.perf_counter() - started
        body = json.dumps({"instances": [SENTENCE]}).encode()
        first = post_ms(base + ":predict", body)
        steady = [post_ms(base + ":predict", body) for _ in range(requests)]
    finally:
        server.terminate()
        server.wait(timeout=60)
    return {"ready_seconds": round(ready, 2), "first_ms": round(first, 2),
            "steady_ms": round(statistics.median(steady), 2)}


def summary(runs: list[dict]) -> dict:
    return {key: round(statistics.median(run[key] for run in runs), 2)
            for key in ("ready_seconds", "first_ms", "steady_ms")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, help="a sentiment export root (default: train one)")
    parser.add_argument("--repeats", type=int, default=3, help="server starts per setting")
    parser.add_argument("--requests", type=int, default=20,
                        help="requests after the first, for the steady latency")
    common.add_arguments(parser, config=False)
    args = parser.parse_args()
    work = common.work_dir(args, "warmup")
    model = (args.model or default_model(work)).resolve()
    export = common.resolve_export(model)
    warmup_entry = common.read_metadata(export).get("warmup")
    if not warmup_entry or not warmup_entry.get("records"):
        sys.exit(f"bench: {export} has no warmup records (exported before exports wrote them?)")
    runs: dict[str, list[dict]] = {"warmup": [], "no_warmup": []}
    for repeat in range(args.repeats):
        order = ("warmup", "no_warmup") if repeat % 2 == 0 else ("no_warmup", "warmup")
        for setting in order:
            run = one_start(model, setting == "warmup", args.requests,
                            work / f"server-{setting}-{repeat}.log")
            common.log(f"{setting} #{repeat}: {run}")
            runs[setting].append(run)
    medians = {setting: summary(entries) for setting, entries in runs.items()}
    payload = {
        "model": common.relative(export), "task": "sentiment",
        "model_config": common.read_metadata(export).get("config"),
        "warmup_file": warmup_entry,
        "server": "seqtasks-model-server --enable_model_warmup=true|false (REST, 127.0.0.1)",
        "repeats": args.repeats, "requests_after_first": args.requests,
        "median": medians, "runs": runs,
        "first_request_speedup": round(medians["no_warmup"]["first_ms"]
                                       / medians["warmup"]["first_ms"], 1),
    }
    common.write_result("warmup", payload, args.results)


if __name__ == "__main__":
    main()
