"""Serving and batch-prediction benchmark on localhost.

Run by hand from the repository root (not part of the tests; about 2 minutes of load test plus
the batch run, which takes minutes for 1M rows):

    python bench/serving.py                          # default-config sentiment model, 1M rows
    python bench/serving.py --task ner --skip-batch  # NER (translate: translation) load test
    python bench/serving.py --model saved_models/sst2 --rows 200000 --duration 10
    python bench/serving.py --compare sentiment --client native  # wrk / h2load at max rate

No recipe: the model is ``--model`` (an export root of ``--task``), or, without it, a model of the
task with its default config trained for two epochs on the bundled sample in data/ (accuracy is
irrelevant here, shapes are) into OUT/<task>, OUT being ``--out DIR`` (reused when it already
holds an export) or a new temporary folder; never under bench/results.

1. Load test: ``seqtasks serve`` in its own process on 127.0.0.1; single-sentence requests
   (real sentences from the task's sample in data/) at fixed rates (open loop: request i is due at
   i/rate and its latency counts from then, so a server falling behind shows up) and at the
   maximum rate (closed loop: every client sends its next request when the last one answers),
   each with 8 and 64 concurrent clients for ``--duration`` seconds: p50/p99/max latency,
   throughput, errors. The client (asyncio, keep-alive connections) runs in this process and
   shares the CPUs with the server; the server's log line "N requests in M batches" is added as
   ``batching``. In ``--compare``, ``--client native`` drives the max-rate levels with wrk
   (REST) and h2load (gRPC) instead (bench/native_load.py), so the client costs less CPU.
2. Batch prediction: ``seqtasks predict`` on a generated TSV of ``--rows`` rows (id, text), in
   OUT/batch (removed afterwards): rows/s end to end, rows/s after start-up (a 1,000-row run
   gives the start-up time), and the peak RSS of the process for a small and the large file
   (constant memory: about equal).

Writes bench/results/serving-<task>.json (``--results DIR`` for another folder), also printed as
one JSON line, the last line of stdout; each load level's line goes to stderr as it finishes.
Keys: task, model, model_config (the export's task, config and training summary), server,
load_test (one entry per rate x clients), batching, batch_prediction (unless --skip-batch).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import common
import native_load

REPO = common.REPO
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(REPO)}
SAMPLES = {"sentiment": REPO / "data" / "sentiment", "ner": REPO / "data" / "ner",
           "translate": REPO / "data" / "translation"}
TRAIN_FILES = {"sentiment": ("train.tsv", "valid.tsv"), "ner": ("train.txt", "valid.txt"),
               "translate": ("train.tsv", "valid.tsv")}


def sentences(task: str) -> list[str]:
    """Raw sentences of the task's bundled sample: review texts, CoNLL sentences joined with
    spaces, or translation sources."""
    lines = []
    for name in TRAIN_FILES[task]:
        text = (SAMPLES[task] / name).read_text(encoding="utf-8")
        if task == "sentiment":
            lines += [row.split("\t", 1)[1] for row in text.splitlines()[1:]]
        elif task == "translate":
            lines += [row.split("\t", 1)[0] for row in text.splitlines()]
        else:
            for block in text.split("\n\n"):
                words = [line.split()[0] for line in block.splitlines()
                         if line.strip() and not line.startswith("-DOCSTART-")]
                lines += [" ".join(words)] if words else []
    return lines


def median_length(texts: list[str]) -> str:
    """The sentence of median length: h2load posts one body, so one typical sentence."""
    return sorted(texts, key=len)[len(texts) // 2]


def default_model(task: str, work: Path) -> Path:
    root = work / task
    if not (root / "1").exists():
        train, valid = (str(SAMPLES[task] / name) for name in TRAIN_FILES[task])
        subprocess.run([sys.executable, "-m", "pipelines.cli", "train", task, "--train", train,
                        "--valid", valid, "--out", str(root), "--epochs", "2", "--quiet"],
                       env=ENV, check=True, cwd=REPO)
    return root


def start_server(model: Path, port: int, args, task: str | None = None,
                 extra: tuple[str, ...] = ()) -> subprocess.Popen:
    task = task or args.task
    server = subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", "serve", f"{task}={model}", "--port", str(port),
         "--max-batch-size", str(args.max_batch_size), "--batch-timeout-ms",
         str(args.batch_timeout_ms), *extra, *args.serve_flag], env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and server.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models/{task}"):
                return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit(f"the server did not start: {server.communicate()[1][-2000:]}")


class Connection:
    """One keep-alive HTTP/1.1 client connection: a lean load generator (httpx's per-request cost
    would make the client, not the server, the bottleneck on 2 CPUs). httptools parses replies."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader = self.writer = None
        self.complete = False

    async def post(self, path: str, body: bytes) -> int:
        import httptools

        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(b"POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                          b"Content-Length: %d\r\n\r\n%s" % (path.encode(), self.host.encode(),
                                                              len(body), body))
        self.complete = False
        parser = httptools.HttpResponseParser(self)
        while not self.complete:
            data = await self.reader.read(65536)
            if not data:
                self.writer = None
                raise ConnectionError("server closed the connection")
            parser.feed_data(data)
        return parser.get_status_code()

    def on_message_complete(self) -> None:  # httptools callback
        self.complete = True

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def rest_sender(port: int, task: str, texts: list[str]):
    """A client's ``send(index) -> ok`` over REST (its own keep-alive connection) and close."""
    connection, path = Connection("127.0.0.1", port), f"/v1/models/{task}:predict"
    bodies = [json.dumps({"instances": [text]}).encode() for text in texts]

    async def send(index: int) -> bool:
        try:
            return await connection.post(path, bodies[index % len(bodies)]) == 200
        except OSError:
            return False
    return send, connection.close


def grpc_senders(port: int, task: str, texts: list[str], channels: int = 4):
    """``make_sender()`` for gRPC: the official stubs (tensorflow_serving.apis) over a few shared
    HTTP/2 channels, requests built beforehand (so the client's proto building is not timed)."""
    import grpc
    import numpy as np
    import tensorflow as tf
    from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

    requests = []
    for text in texts:
        request = predict_pb2.PredictRequest()
        request.model_spec.name = task
        request.inputs["text"].CopyFrom(tf.make_tensor_proto(np.array([text.encode()],
                                                                       dtype=object)))
        requests.append(request)
    pool = [grpc.aio.insecure_channel(f"127.0.0.1:{port}") for _ in range(channels)]
    stubs = [prediction_service_pb2_grpc.PredictionServiceStub(channel) for channel in pool]
    count = 0

    def make_sender():
        nonlocal count
        stub, count = stubs[count % len(stubs)], count + 1

        async def send(index: int) -> bool:
            try:
                await stub.Predict(requests[index % len(requests)], timeout=30)
                return True
            except grpc.RpcError:
                return False
        return send, lambda: None

    async def close():
        for channel in pool:
            await channel.close()
    return make_sender, close


async def load(make_sender, rate: float | None, clients: int, duration: float,
               max_requests: int) -> dict:
    """Open loop at ``rate`` (request i due at i/rate; latency counted from then) or closed loop
    (``rate`` None: each client sends when its last request is answered)."""
    total = max_requests if rate is None else min(max_requests, int(rate * duration))
    latencies, errors, next_index = [], 0, 0
    start = time.perf_counter()

    async def client():
        nonlocal next_index, errors
        send, close = make_sender()
        try:
            while next_index < total and time.perf_counter() - start < duration:
                index, next_index = next_index, next_index + 1
                due = start + index / rate if rate else time.perf_counter()
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                ok = await send(index)
                latencies.append(time.perf_counter() - due)
                errors += not ok
        finally:
            close()

    await asyncio.gather(*(client() for _ in range(clients)))
    elapsed = time.perf_counter() - start
    latencies.sort()

    def percentile(q: float) -> float:
        return round(1000 * latencies[min(len(latencies) - 1, int(q * len(latencies)))], 2)

    return {"target_rps": rate or "max", "clients": clients, "requests": len(latencies),
            "errors": errors, "seconds": round(elapsed, 2),
            "throughput_rps": round(len(latencies) / elapsed, 1),
            "p50_ms": percentile(0.50), "p99_ms": percentile(0.99), "max_ms": percentile(1.0),
            "mean_ms": round(1000 * statistics.fmean(latencies), 2)}


def load_test(model: Path, args) -> list[dict]:
    port = common.free_port()
    server = start_server(model, port, args)
    texts, results = sentences(args.task), []
    make_sender = lambda: rest_sender(port, args.task, texts)  # noqa: E731
    try:
        asyncio.run(load(make_sender, 20, 4, 2, 40))  # warm-up
        for rate in args.rates:
            for clients in args.clients:
                result = asyncio.run(load(make_sender, rate, clients, args.duration,
                                          args.max_requests))
                print(json.dumps(result), file=sys.stderr, flush=True)
                results.append(result)
    finally:
        server.terminate()
        _, log = server.communicate(timeout=60)
    batching = [line.split(": ", 2)[-1] for line in log.splitlines() if " batches" in line]
    return results, batching[-1] if batching else None


def version_landing(base: Path, task: str, port: int, count: int) -> list[float]:
    """Seconds from a complete version directory being renamed into the base path (as an
    exporter should land it) to the first 200 from ``/versions/N:predict``."""
    newest = max(int(p.name) for p in base.iterdir() if p.name.isdigit())
    body = json.dumps({"instances": ["a first answer"]}).encode()
    seconds = []
    for version in range(newest + 1, newest + 1 + count):
        staging = base.parent / f"staging-{base.name}-{version}"
        shutil.copytree(base / str(newest), staging)
        landed = time.perf_counter()
        staging.rename(base / str(version))
        url = f"http://127.0.0.1:{port}/v1/models/{task}/versions/{version}:predict"
        while time.perf_counter() - landed < 120:
            try:
                with urllib.request.urlopen(urllib.request.Request(url, data=body)) as answer:
                    if answer.status == 200:
                        break
            except OSError:  # 404 until loaded
                time.sleep(0.005)
        seconds.append(round(time.perf_counter() - landed, 3))
    return seconds


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, all its threads, and of its live child processes
    (``seqtasks serve --workers N``), from Linux /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    children = Path(f"/proc/{pid}/task/{pid}/children")
    kids = children.read_text().split() if children.exists() else []
    return own + sum(cpu_seconds(int(kid)) for kid in kids if Path(f"/proc/{kid}").exists())


LEVELS = ((50.0, 8), (None, 64))  # 50 req/s single sentences; the most 64 clients get


def compare(args, work: Path) -> dict:
    """REST and gRPC side by side on one server per task, then the version-landing time."""
    results = {}
    for task in args.compare:
        model = default_model(task, work)
        base = work / "landing" / task
        shutil.rmtree(base, ignore_errors=True)
        shutil.copytree(model, base)
        port, grpc_port = common.free_port(), common.free_port()
        server = start_server(base, port, args, task, ("--grpc-port", str(grpc_port),
                                                       "--poll-seconds", str(args.poll_seconds)))
        texts, levels = sentences(task), []
        rest = lambda: rest_sender(port, task, texts)  # noqa: E731

        async def over_grpc(rate, clients, duration, most):
            make_sender, close = grpc_senders(grpc_port, task, texts)
            try:
                return await load(make_sender, rate, clients, duration, most)
            finally:
                await close()
        try:
            asyncio.run(load(rest, 20, 4, 2, 40))  # warm-up (batchers, first calls)
            asyncio.run(over_grpc(20, 4, 2, 40))
            # this process imported TensorFlow for the gRPC protos: a full garbage collection
            # would stall the client for most of a second, counted as the server's latency
            gc.collect()
            gc.freeze()
            for rate, clients in LEVELS:
                for protocol in ("rest", "grpc"):
                    cpu_before = cpu_seconds(server.pid)
                    if rate is None and args.client == "native":
                        result = (native_load.wrk_rest(port, task, texts, clients, args.duration)
                                  if protocol == "rest" else
                                  native_load.h2load_grpc(grpc_port, port, task,
                                                          median_length(texts), clients,
                                                          args.duration))
                    elif protocol == "rest":
                        result = asyncio.run(load(rest, rate, clients, args.duration,
                                                  args.max_requests))
                    else:
                        result = asyncio.run(over_grpc(rate, clients, args.duration,
                                                       args.max_requests))
                    # the server's own CPU per request: what the machine's load cannot change
                    cpu_ms = 1000 * (cpu_seconds(server.pid) - cpu_before) / result["requests"]
                    result = {"protocol": protocol, **result,
                              "server_cpu_ms_per_request": round(cpu_ms, 3)}
                    print(json.dumps({"task": task, **result}), file=sys.stderr, flush=True)
                    levels.append(result)
            landing = version_landing(base, task, port, args.landings)
        finally:
            server.terminate()
            _, log = server.communicate(timeout=60)
        metadata = common.read_metadata(common.resolve_export(model))
        results[task] = {
            "model": str(model), "model_config": metadata.get("config"),
            "load_test": levels,
            "version_landing_seconds": landing,
            "batching": [line.split(": ", 2)[-1] for line in log.splitlines()
                         if " batches" in line]}
    return results


def write_rows(path: Path, task: str, rows: int) -> None:
    texts, rng = sentences(task), random.Random(0)
    with path.open("w", encoding="utf-8") as out:
        out.write("id\ttext\n")
        for i in range(rows):
            out.write(f"r{i}\t{texts[rng.randrange(len(texts))]}\n")


def timed_predict(model: Path, source: Path, output: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one ``seqtasks predict`` process."""
    return common.timed_process(
        [sys.executable, "-m", "pipelines.cli", "predict", str(model), "--input", str(source),
         "--output", str(output), "--quiet"], env=ENV)


def batch_test(model: Path, task: str, rows: int, work: Path) -> dict:
    work = work / "batch"
    work.mkdir(parents=True, exist_ok=True)
    small, large = work / "small.tsv", work / "large.tsv"
    write_rows(small, task, 1000)
    write_rows(large, task, rows)
    small_seconds, small_rss = timed_predict(model, small, work / "small.out.tsv")
    seconds, rss = timed_predict(model, large, work / "large.out.tsv")
    for path in (small, large, work / "small.out.tsv", work / "large.out.tsv"):
        path.unlink()
    return {"rows": rows, "seconds": round(seconds, 1),
            "rows_per_second": round(rows / seconds, 1),
            "rows_per_second_after_startup": round((rows - 1000) / (seconds - small_seconds), 1),
            "startup_and_1000_rows_seconds": round(small_seconds, 1),
            "peak_rss_mib": round(rss, 1), "peak_rss_mib_1000_rows": round(small_rss, 1)}


PYTHON_CLIENT = ("this process (asyncio; REST: keep-alive HTTP/1.1, httptools; gRPC: "
                 "tensorflow_serving.apis stubs on grpc.aio, 4 channels), on the same CPUs as "
                 "the server")
CLIENTS = {"python": PYTHON_CLIENT,
           "native": "fixed rates: " + PYTHON_CLIENT + "; max rate: wrk (REST, 1 thread, a Lua "
                     "script cycling the sentences) and h2load (gRPC, 1 thread, one stream per "
                     "connection, the sentence of median length), unpinned on the same 2 "
                     "CPUs as the server; each max-rate level records client_cpu_seconds"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", choices=tuple(SAMPLES), default="sentiment")
    parser.add_argument("--model", type=Path, help="export root of --task (default: train one)")
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the batch file")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per load level")
    parser.add_argument("--max-requests", type=int, default=20_000, help="per load level")
    parser.add_argument("--rates", type=lambda s: [None if r == "max" else float(r)
                                                   for r in s.split(",")],
                        default=[50.0, 200.0, None], help="comma-separated req/s or 'max'")
    parser.add_argument("--clients", type=lambda s: [int(c) for c in s.split(",")],
                        default=[8, 64])
    parser.add_argument("--max-batch-size", type=int, default=128)
    parser.add_argument("--batch-timeout-ms", type=float, default=2.0)
    parser.add_argument("--skip-batch", action="store_true")
    parser.add_argument("--compare", type=lambda s: s.split(","), metavar="TASKS",
                        help="REST vs gRPC side by side on these tasks' default models (e.g. "
                             "sentiment,ner) and the version-landing time: bench/results/"
                             "serving.json (the other options but --duration, --max-requests "
                             "and the batching ones are ignored)")
    parser.add_argument("--poll-seconds", type=float, default=1.0,
                        help="the server's --poll-seconds in --compare (default: 1, TF "
                             "Serving's)")
    parser.add_argument("--landings", type=int, default=3,
                        help="new versions landed one after another in --compare")
    parser.add_argument("--client", choices=("python", "native"), default="python",
                        help="in --compare, the max-rate levels' client: this process (asyncio, "
                             "default) or native load generators on one thread each (wrk for "
                             "REST, h2load for gRPC: Debian's wrk and nghttp2-client), which "
                             "leave the server more of the CPUs")
    parser.add_argument("--name", default="serving",
                        help="--compare's result file name (default: serving)")
    parser.add_argument("--serve-flag", action="append", default=[], metavar="FLAG",
                        help="a flag passed on to seqtasks serve, e.g. "
                             "--serve-flag=--tensorflow-intra-op-parallelism=1 (repeatable)")
    common.add_arguments(parser, config=False)
    args = parser.parse_args()
    if args.client == "native" and not all(native_load.tools().values()):
        parser.error(f"--client native needs wrk and h2load on PATH (found {native_load.tools()}"
                     "); apt-get install wrk nghttp2-client")
    if args.compare:
        work = common.work_dir(args, "serving")
        result = {"tasks": compare(args, work),
                  "levels": [{"target_rps": rate or "max", "clients": clients}
                             for rate, clients in LEVELS],
                  "server": {"max_batch_size": args.max_batch_size,
                             "batch_timeout_ms": args.batch_timeout_ms,
                             "poll_seconds": args.poll_seconds, "flags": args.serve_flag},
                  "clients": CLIENTS[args.client],
                  "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, shared with other "
                             "jobs (see environment.load_average)",
                  "work_dir": str(work)}
        common.write_result(args.name, result, args.results)
        return
    needs_work = args.model is None or not args.skip_batch
    work = common.work_dir(args, "serving") if needs_work else None
    model = args.model or default_model(args.task, work)
    metadata = common.read_metadata(common.resolve_export(model))
    training = {k: v for k, v in metadata.get("training", {}).items() if k != "history"}
    result = {"task": args.task, "model": str(model),
              "model_config": {"task": metadata.get("task"), "config": metadata.get("config"),
                               "training": training},
              "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
              "server": {"max_batch_size": args.max_batch_size,
                         "batch_timeout_ms": args.batch_timeout_ms},
              }
    result["load_test"], result["batching"] = load_test(model, args)
    if not args.skip_batch:
        result["batch_prediction"] = batch_test(model, args.task, args.rows, work)
    result["work_dir"] = str(work) if work else None
    common.write_result(f"serving-{args.task}", result, args.results)


if __name__ == "__main__":
    main()
