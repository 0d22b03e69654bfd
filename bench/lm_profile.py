"""Where a recurrent LM's training step spends its time, by TensorFlow op type (TF profiler).

For each kernel (``keras``: the projected While loop TensorFlow differentiates; ``fused``:
seqtasks.layers.fused_rnn, its own backward pass; ``stock_keras``: ``keras.layers.LSTM``), in a
fresh process: the language-model pipeline's trainer of ``bench/lm_throughput.py``'s shape
(default the char LM: vocabulary 65, 2 x 512 LSTM, batch 64 x 100) trains untimed warm-up
windows, then ``--windows`` windows under ``tf.profiler.experimental``. The trace's op events
(the executor threads' lines of the host plane) are summed per op type and divided by the
windows: milliseconds per window and share of the op time. One inter-op thread (``--threads``
intra-op), so ops run one at a time and their times add up to the step's wall clock; the
wall clock per window is reported next to them.

Run by hand from the repository root (about a minute per kernel):

    python bench/lm_profile.py [--shape char|ptb_small] [--kernels fused keras stock_keras]

Writes bench/results/lm-profile.json (also printed as one JSON line, the last line of stdout).
"""

from __future__ import annotations

import argparse
import collections
import os
import tempfile
import time
from pathlib import Path

import common
import lm_throughput

KERNELS = ("keras", "fused", "stock_keras")
FRAMEWORK = {"keras": "seqtasks_keras", "fused": "seqtasks_fused", "stock_keras": "stock_keras"}
TOP = 15  # op types listed one by one; the rest are summed as "other"


def op_times(trace_dir: Path) -> collections.Counter:
    """Total milliseconds per op type over the executor threads of one profiler trace."""
    totals: collections.Counter = collections.Counter()
    for name, ms in common.traced_ops(trace_dir):
        totals[name.rsplit(":", 1)[1]] += ms
    return totals


def profile(spec: dict) -> dict:
    """In this (fresh) process: warm up, then trace ``spec["windows"]`` training windows."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(spec["threads"])
    tf.config.threading.set_inter_op_parallelism_threads(1)
    shape = lm_throughput.SHAPES[spec["shape"]]
    ids = lm_throughput.token_ids(shape, spec["windows"] + spec["warmup"], True)
    train, _ = lm_throughput.keras_trainer(ids, shape, "lstm", FRAMEWORK[spec["kernel"]], True)
    train(spec["warmup"])
    with tempfile.TemporaryDirectory() as trace_dir:
        tf.profiler.experimental.start(trace_dir)
        start = time.perf_counter()
        train(spec["windows"])
        wall = time.perf_counter() - start
        tf.profiler.experimental.stop()
        totals = op_times(Path(trace_dir))
    per_window = {op: ms / spec["windows"] for op, ms in totals.items()}
    op_ms = sum(per_window.values())
    ranked = sorted(per_window.items(), key=lambda item: -item[1])
    listed = dict(ranked[:TOP])
    listed["other"] = sum(ms for _, ms in ranked[TOP:])
    tokens = shape["batch"] * shape["steps"]
    return {"wall_ms_per_window": round(wall * 1000 / spec["windows"], 1),
            "tokens_per_second": round(tokens * spec["windows"] / wall, 1),
            "op_ms_per_window": round(op_ms, 1),
            "by_op_type": {op: {"ms_per_window": round(ms, 2),
                                "share": round(ms / op_ms, 4)} for op, ms in listed.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--shape", choices=lm_throughput.SHAPES, default="char")
    parser.add_argument("--kernels", choices=KERNELS, nargs="+", default=list(KERNELS))
    parser.add_argument("--windows", type=int, default=3, help="traced windows (default 3)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed windows before them")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="intra-op threads")
    common.add_arguments(parser, config=False, out=False, child=True)
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if common.answer_child(args, profile):
        return
    if min(args.windows, args.warmup, args.threads) < 1:
        parser.error("--windows, --warmup and --threads must be >= 1")
    start = common.started()
    kernels = {}
    for kernel in args.kernels:
        spec = {"shape": args.shape, "kernel": kernel, "windows": args.windows,
                "warmup": args.warmup, "threads": args.threads}
        kernels[kernel] = common.child_result(__file__, spec)
        top = list(kernels[kernel]["by_op_type"].items())[:4]
        common.log(f"{kernel}: {kernels[kernel]['wall_ms_per_window']} ms/window; "
                   + ", ".join(f"{op} {v['ms_per_window']:.0f} ms" for op, v in top))
    common.write_result("lm-profile", {
        "benchmark": "lm_profile", "shape": {args.shape: lm_throughput.SHAPES[args.shape]},
        "cell": "lstm", "training": lm_throughput.TRAINING, "windows": args.windows,
        "warmup_windows": args.warmup, "intra_op_threads": args.threads, "inter_op_threads": 1,
        "timing": ("TF profiler trace of the traced windows; op events of the executor threads "
                   "summed per op type, per window; wall clock per window around them (the "
                   "profiler's own overhead included)"),
        "kernels": kernels,
    }, args.results, start)


if __name__ == "__main__":
    main()
