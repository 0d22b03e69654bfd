"""Closed-loop load from native load generators, so the client costs the server little CPU.

bench/serving.py's own client (asyncio in Python) spends about as much CPU per request as the
server does; on a 2-core machine the two then share the cores and the measured maximum is the
client's as much as the server's. Here the maximum rate comes from:

- REST: ``wrk`` (Debian package ``wrk``), one thread, keep-alive HTTP/1.1; a Lua script cycles
  through the request bodies and writes the summary (requests, errors, latency percentiles) as
  JSON in its ``done`` hook;
- gRPC: ``h2load`` (Debian package ``nghttp2-client``), one thread, HTTP/2 with one stream per
  connection (or ``streams``), posting a gRPC-framed ``PredictRequest``; ``--log-file`` gives
  each request's latency. h2load counts HTTP statuses, not gRPC ones (a failed call is HTTP 200 with a
  ``grpc-status`` trailer), so errors are read from the server's own request counter instead.

Each result records the client's CPU seconds (``getrusage`` of the child) beside the server's.
"""

from __future__ import annotations

import json
import re
import resource
import shutil
import subprocess
import tempfile
import urllib.request
from pathlib import Path

WRK_SCRIPT = """
local bodies = {%(bodies)s}
local index = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  index = index %% #bodies + 1
  return wrk.format(nil, nil, nil, bodies[index])
end
done = function(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests": %%d, "errors": %%d, "duration_us": %%d, "p50_us": %%d, ' ..
    '"p99_us": %%d, "max_us": %%d, "mean_us": %%f}\\n',
    summary.requests, errors.connect + errors.read + errors.write + errors.status +
    errors.timeout, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, latency.mean))
end
"""


def tools() -> dict[str, str | None]:
    """Where wrk and h2load are (None: not installed)."""
    return {"wrk": shutil.which("wrk"), "h2load": shutil.which("h2load")}


def _child_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _lua_string(text: str) -> str:
    level = "=" * (max((len(m) for m in re.findall(r"\](=*)\]", text)), default=0) + 1)
    return f"[{level}[{text}]{level}]"


def wrk_rest(port: int, task: str, texts: list[str], clients: int, duration: float) -> dict:
    """``clients`` keep-alive connections posting single-sentence :predict requests."""
    bodies = ", ".join(_lua_string(json.dumps({"instances": [text]})) for text in texts)
    with tempfile.TemporaryDirectory() as work:
        script = Path(work) / "predict.lua"
        script.write_text(WRK_SCRIPT % {"bodies": bodies}, encoding="utf-8")
        cpu = _child_cpu_seconds()
        run = subprocess.run(
            ["wrk", "-t1", f"-c{clients}", f"-d{max(1, round(duration))}s", "--timeout", "30s",
             "-s", str(script), f"http://127.0.0.1:{port}/v1/models/{task}:predict"],
            capture_output=True, text=True, check=True)
        cpu = _child_cpu_seconds() - cpu
    line = next(line for line in run.stdout.splitlines() if line.startswith("WRK_RESULT "))
    got = json.loads(line.split(" ", 1)[1])
    seconds = got["duration_us"] / 1e6
    return {"target_rps": "max", "clients": clients, "requests": got["requests"],
            "errors": got["errors"], "seconds": round(seconds, 2),
            "throughput_rps": round(got["requests"] / seconds, 1),
            "p50_ms": round(got["p50_us"] / 1000, 2), "p99_ms": round(got["p99_us"] / 1000, 2),
            "max_ms": round(got["max_us"] / 1000, 2), "mean_ms": round(got["mean_us"] / 1000, 2),
            "client": "wrk 1 thread", "client_cpu_seconds": round(cpu, 2)}


def _grpc_frame(task: str, text: str) -> bytes:
    import numpy as np
    import tensorflow as tf
    from tensorflow_serving.apis import predict_pb2

    request = predict_pb2.PredictRequest()
    request.model_spec.name = task
    request.inputs["text"].CopyFrom(tf.make_tensor_proto(np.array([text.encode()],
                                                                   dtype=object)))
    payload = request.SerializeToString()
    return b"\x00" + len(payload).to_bytes(4, "big") + payload  # gRPC's length-prefixed message


def _failed_grpc_requests(rest_port: int) -> float:
    """gRPC requests the server answered with an error, from its Prometheus counter."""
    url = f"http://127.0.0.1:{rest_port}/monitoring/prometheus/metrics"
    with urllib.request.urlopen(url) as answer:
        text = answer.read().decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("seqtasks_serving_requests_total{")
               and 'protocol="grpc"' in line and 'code="OK"' not in line)


def h2load_grpc(grpc_port: int, rest_port: int, task: str, text: str, clients: int,
                duration: float, streams: int = 1) -> dict:
    """``clients`` HTTP/2 connections, each with ``streams`` Predict calls at a time (the same
    sentence)."""
    with tempfile.TemporaryDirectory() as work:
        body, log = Path(work) / "request.bin", Path(work) / "requests.tsv"
        body.write_bytes(_grpc_frame(task, text))
        failed = _failed_grpc_requests(rest_port)
        cpu = _child_cpu_seconds()
        subprocess.run(
            ["h2load", "-t1", f"-c{clients}", f"-m{streams}", f"-D{max(1, round(duration))}",
             "-d", str(body), "-H", "content-type: application/grpc", "-H", "te: trailers",
             "--log-file", str(log),
             f"http://127.0.0.1:{grpc_port}/tensorflow.serving.PredictionService/Predict"],
            capture_output=True, text=True, check=True)
        cpu = _child_cpu_seconds() - cpu
        failed = _failed_grpc_requests(rest_port) - failed
        rows = [line.split("\t") for line in log.read_text().splitlines() if line]
    # columns: start (us since the epoch), HTTP status, us until the end of the response
    starts, ends = [int(row[0]) for row in rows], [int(row[0]) + int(row[2]) for row in rows]
    latencies = sorted(int(row[2]) / 1000 for row in rows)  # ms
    http_errors = sum(1 for row in rows if row[1] != "200")
    seconds = (max(ends) - min(starts)) / 1e6

    def percentile(q: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(q * len(latencies)))], 2)

    return {"target_rps": "max", "clients": clients, "streams_per_connection": streams,
            "requests": len(rows), "errors": http_errors + int(failed), "seconds": round(seconds, 2),
            "throughput_rps": round(len(rows) / seconds, 1),
            "p50_ms": percentile(0.5), "p99_ms": percentile(0.99), "max_ms": percentile(1.0),
            "mean_ms": round(sum(latencies) / len(latencies), 2),
            "client": "h2load 1 thread", "client_cpu_seconds": round(cpu, 2)}
