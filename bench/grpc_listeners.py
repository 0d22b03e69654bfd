"""gRPC throughput against the number of gRPC listeners (``seqtasks serve --grpc-listeners``).

A grpc.aio server accepts one new call at a time: the next is requested only once the last has
come through its poller thread and the event loop. Under many concurrent calls that round trip,
not the model, caps the calls a second. ``--grpc-listeners N`` runs N servers on the one port
(SO_REUSEPORT: the kernel gives each new connection to one of them), so N calls are accepted side
by side. This script measures, for each listener count, the most Predict calls a second h2load
gets with a fixed number of calls in flight spread over 64, 4 and 1 HTTP/2 connections (64
connections x 1 stream is bench/serving.py's max-rate gRPC level), plus the server's CPU per call.

    python bench/grpc_listeners.py --model /tmp/serve-bench2/sentiment

Each listener count gets a fresh server; the sentence is the sample's median-length one; the
first two seconds of load on each server are warm-up and not counted. Needs h2load on PATH
(Debian package nghttp2-client). Writes bench/results/serving-grpc-listeners.json.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
import native_load  # noqa: E402
import serving  # noqa: E402


def pattern(text: str) -> tuple[int, int]:
    """'64x1' -> (64 connections, 1 stream each)."""
    connections, streams = (int(part) for part in text.split("x"))
    return connections, streams


def measure(args, listeners: int) -> list[dict]:
    port, grpc_port = common.free_port(), common.free_port()
    server = serving.start_server(args.model, port, args, "sentiment",
                                  ("--grpc-port", str(grpc_port),
                                   "--grpc-listeners", str(listeners)))
    text = serving.median_length(serving.sentences("sentiment"))
    rows = []
    try:
        native_load.h2load_grpc(grpc_port, port, "sentiment", text, 64, 2)  # warm-up
        for connections, streams in args.patterns:
            cpu = serving.cpu_seconds(server.pid)
            result = native_load.h2load_grpc(grpc_port, port, "sentiment", text, connections,
                                             args.duration, streams)
            cpu_ms = 1000 * (serving.cpu_seconds(server.pid) - cpu) / result["requests"]
            row = {"grpc_listeners": listeners, "connections": connections,
                   "streams_per_connection": streams,
                   **{key: result[key] for key in ("requests", "errors", "throughput_rps",
                                                   "p50_ms", "p99_ms", "client_cpu_seconds")},
                   "server_cpu_ms_per_request": round(cpu_ms, 3)}
            common.log(str(row))
            rows.append(row)
    finally:
        server.terminate()
        server.communicate(timeout=60)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True,
                        help="a sentiment export root (bench/serving.py --out DIR trains one)")
    parser.add_argument("--listeners", type=lambda s: [int(n) for n in s.split(",")],
                        default=[1, 2, 4, 8, 16, 32, 64])
    parser.add_argument("--patterns", type=lambda s: [pattern(p) for p in s.split(",")],
                        default=[(64, 1), (4, 16), (1, 64)],
                        help="CONNECTIONSxSTREAMS levels (default: 64x1,4x16,1x64)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per level")
    parser.add_argument("--results", type=Path, default=None, help="folder for the result")
    args = parser.parse_args()
    missing = [tool for tool, where in native_load.tools().items()
               if tool == "h2load" and where is None]
    if missing:
        parser.error("h2load is not on PATH (Debian package nghttp2-client)")
    # what serving.start_server reads besides the model
    args.max_batch_size, args.batch_timeout_ms, args.serve_flag = 128, 2.0, []
    rows = [row for listeners in args.listeners for row in measure(args, listeners)]
    common.write_result("serving-grpc-listeners", {
        "what": "most gRPC Predict calls a second on seqtasks serve (1 worker, default flags "
                "besides --grpc-listeners) with h2load (1 thread) keeping CONNECTIONS x STREAMS "
                "single-sentence calls in flight, against the number of gRPC listeners; server "
                "and client unpinned on the same 2 CPUs",
        "model": str(args.model),
        "model_config": common.read_metadata(common.resolve_export(args.model)).get("config"),
        "rows": rows}, args.results)


if __name__ == "__main__":
    main()
