"""Which BiLSTM inference graph serves fastest: the levers, measured one by one at the serving shape.

The BiLSTM(128) of the sentiment export alone (random embeddings [256, 30, 128], a right-padded
mask as served, max pooling over time; batch from ``--batch``), in these graphs:

- ``masked_loop``: the inference loop that served before (``fused_rnn``'s masked loop: mask
  compaction by a stable sort, input product for all steps, per step ``h @ recurrent`` + the
  input product's slice, one split, the gates);
- ``right_padded_loop``: the same loop without compaction (right padding: forward as is,
  backward ``tf.reverse_sequence`` by length);
- ``right_padded_loop_bias_folded``: that, with the bias moved from the input product into the
  step (``BiasAdd(h @ recurrent, b) + input slice``), so that grappler's remapper can fuse
  MatMul + BiasAdd + Add into one oneDNN op in the loop body (``fused_ops_in_loop`` lists the
  op types the profiler saw inside the loops);
- ``unrolled_bias_folded``: that step unrolled in Python over a 32-step length bucket (padded);
- ``lstm_block_cell``: TensorFlow's fused cell op, ``LSTMBlockCell`` (``[x, h] @ w`` and the
  gates in one op), per step in a While loop;
- ``block_lstm``: ``BlockLSTM`` (the whole sequence in one op, its loop in C++), through the
  layer's inference path (``FusedLSTM``, right-padded mask), at any batch size.

Each graph, at intra-op / inter-op threads 1/1, 2/2 and 1/2 (two directions side by side on one
thread each), runs in a fresh process: 3 untimed batches, then ``--runs`` runs of ``--calls``
batches; wall milliseconds per batch (``time.perf_counter``) and CPU milliseconds per batch of
the process (``time.process_time``: less sensitive to other work on a shared machine, but it
counts a spinning thread's wait too). Median, min and max over runs; load average recorded.

Then ``batch_sweep``: ``masked_loop`` and ``block_lstm`` at one thread over ``--sweep`` batch
sizes (where BlockLSTM stops winning: the layer's ``BLOCK_LSTM_MAX_BATCH``).

    python bench/serving_graph_levers.py [--runs 7] [--calls 5] [--batch 256]

Writes bench/results/serving-graph-levers.json (also the last line of stdout).
"""

from __future__ import annotations

import argparse
import collections
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import common

SHAPE = {"batch": 256, "tokens": 30, "embedding_dim": 128, "units": 128}
GRAPHS = ("masked_loop", "right_padded_loop", "right_padded_loop_bias_folded",
          "unrolled_bias_folded", "lstm_block_cell", "block_lstm")
SETTINGS = ((1, 1), (2, 2), (1, 2))  # intra-op, inter-op threads
BUCKET = 32


def direction(graph: str, x, kernel, recurrent, bias):
    """Hidden states [time, batch, units] of one direction over right-padded time-major ``x``."""
    import tensorflow as tf

    steps, batch, units = tf.shape(x)[0], tf.shape(x)[1], SHAPE["units"]
    zeros = tf.zeros([batch, units])
    if graph == "lstm_block_cell":
        w, no_peephole = tf.concat([kernel, recurrent], 0), tf.zeros([units])

        def cell_step(t, h, c, kept):  # gate order i, c, f, o is immaterial for speed
            _, c, _, _, _, _, h = tf.raw_ops.LSTMBlockCell(
                x=x[t], cs_prev=c, h_prev=h, w=w, wci=no_peephole, wcf=no_peephole,
                wco=no_peephole, b=bias, forget_bias=0.0, cell_clip=-1.0, use_peephole=False)
            return t + 1, h, c, kept.write(t, h)

        kept = tf.TensorArray(tf.float32, size=steps, element_shape=[None, units])
        return tf.while_loop(lambda t, *_: t < steps, cell_step, (0, zeros, zeros, kept)
                             )[-1].stack()
    folded = graph != "right_padded_loop"
    projected = tf.matmul(tf.reshape(x, [-1, SHAPE["embedding_dim"]]), kernel)
    projected = tf.reshape(projected if folded else projected + bias, [steps, batch, 4 * units])

    def gates(inputs, h, c):
        z = tf.nn.bias_add(tf.matmul(h, recurrent), bias) + inputs if folded else \
            inputs + tf.matmul(h, recurrent)
        i, f, candidate, o = tf.split(z, 4, axis=-1)
        c = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(candidate)
        return tf.sigmoid(o) * tf.tanh(c), c

    if graph == "unrolled_bias_folded":
        h, c, kept = zeros, zeros, []
        for t in range(BUCKET):
            h, c = gates(projected[t], h, c)
            kept.append(h)
        return tf.stack(kept)

    def loop_step(t, h, c, kept):
        h, c = gates(projected[t], h, c)
        return t + 1, h, c, kept.write(t, h)

    kept = tf.TensorArray(tf.float32, size=steps, element_shape=[None, units])
    return tf.while_loop(lambda t, *_: t < steps, loop_step, (0, zeros, zeros, kept))[-1].stack()


def build(graph: str, batch: int):
    """A no-argument function running ``graph`` on one batch and returning the pooled [batch,
    2 units]."""
    import keras
    import tensorflow as tf

    from seqtasks.layers import fused_rnn as fused

    keras.utils.set_random_seed(0)
    tokens, units = SHAPE["tokens"], SHAPE["units"]
    x = tf.random.normal([batch, tokens, SHAPE["embedding_dim"]])
    lengths = tf.fill([batch], tokens)
    mask = tf.sequence_mask(lengths, tokens)
    if graph in ("masked_loop", "block_lstm"):
        if graph == "masked_loop":
            fused.fused_rnn = fused._masked_loop
        else:  # BlockLSTM at every batch size, past the layer's own limit
            fused.BLOCK_LSTM_MAX_BATCH = 2 ** 31 - 1
        layer = keras.layers.Bidirectional(fused.FusedLSTM(units, return_sequences=True))
        layer(x[:1])
        return tf.function(lambda: tf.reduce_max(layer(x, mask=mask, training=False), axis=1))
    generator = tf.random.Generator.from_seed(0)
    weights = [(generator.normal([SHAPE["embedding_dim"], 4 * units]) * 0.1,
                generator.normal([units, 4 * units]) * 0.1, generator.normal([4 * units]) * 0.1)
               for _ in range(2)]
    padded = tf.pad(x, [[0, 0], [0, BUCKET - tokens], [0, 0]]) \
        if graph == "unrolled_bias_folded" else x

    @tf.function
    def pooled():
        time_major = tf.transpose(padded, [1, 0, 2])
        forward = direction(graph, time_major, *weights[0])
        backward = tf.reverse_sequence(
            direction(graph, tf.reverse_sequence(time_major, lengths, seq_axis=0, batch_axis=1),
                      *weights[1]), lengths, seq_axis=0, batch_axis=1)
        both = tf.concat([forward, backward], axis=-1)[:tokens]
        return tf.reduce_max(tf.where(tf.transpose(mask)[..., None], both, -1e9), axis=0)

    return pooled


def loop_op_types(run) -> list[str]:
    """Op types the TF profiler saw inside While loop bodies over 3 calls of ``run``."""
    import tensorflow as tf

    seen = collections.Counter()
    with tempfile.TemporaryDirectory() as trace_dir:
        tf.profiler.experimental.start(trace_dir)
        for _ in range(3):
            run()
        tf.profiler.experimental.stop()
        for name, _ in common.traced_ops(Path(trace_dir)):
            if "/while/" in name:
                seen[name.rsplit(":", 1)[1]] += 1
    return sorted(seen)


def measure(spec: dict) -> dict:
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(spec["intra_op"])
    tf.config.threading.set_inter_op_parallelism_threads(spec["inter_op"])
    run = build(spec["graph"], spec["batch"])
    for _ in range(3):
        run().numpy()
    load_before = os.getloadavg()[0]
    wall, cpu = [], []
    for _ in range(spec["runs"]):
        start, start_cpu = time.perf_counter(), time.process_time()
        for _ in range(spec["calls"]):
            run().numpy()
        wall.append((time.perf_counter() - start) * 1000 / spec["calls"])
        cpu.append((time.process_time() - start_cpu) * 1000 / spec["calls"])
    result = {"wall_ms": wall, "cpu_ms": cpu,
              "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)]}
    if spec.get("trace"):
        result["loop_op_types"] = loop_op_types(run)
    return result


def spread(values: list[float]) -> dict:
    return {"median": round(statistics.median(values), 2), "min": round(min(values), 2),
            "max": round(max(values), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--runs", type=int, default=7, help="timed runs per graph and setting")
    parser.add_argument("--calls", type=int, default=5, help="batches per timed run")
    parser.add_argument("--batch", type=int, default=SHAPE["batch"])
    parser.add_argument("--sweep", default="1,4,8,16,32,64",
                        help="batch sizes at which masked_loop and block_lstm are also timed "
                             "(1 thread; where does BlockLSTM stop winning?)")
    common.add_arguments(parser, config=False, out=False, child=True)
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if common.answer_child(args, measure):
        return
    if min(args.runs, args.calls, args.batch) < 1:
        parser.error("--runs, --calls and --batch must be >= 1")
    results: dict[str, dict] = {}
    for intra_op, inter_op in SETTINGS:
        setting = f"intra_op_{intra_op}/inter_op_{inter_op}"
        for graph in GRAPHS:
            spec = {"graph": graph, "intra_op": intra_op, "inter_op": inter_op,
                    "batch": args.batch, "runs": args.runs, "calls": args.calls,
                    "trace": (intra_op, inter_op) == (1, 1) and "loop" in graph}
            out = common.child_result(__file__, spec, label=f"{graph} {setting}")
            results.setdefault(graph, {})[setting] = {
                "wall_ms_per_batch": spread(out["wall_ms"]),
                "cpu_ms_per_batch": spread(out["cpu_ms"]),
                "load_average_1min": out["load_average_1min"],
                **({"loop_op_types": out["loop_op_types"]} if "loop_op_types" in out else {})}
            common.log(f"{setting} {graph}: wall {results[graph][setting]['wall_ms_per_batch']}"
                       f" cpu {results[graph][setting]['cpu_ms_per_batch']['median']} "
                       f"(load {out['load_average_1min']})")
    sweep = {}
    for batch in [int(b) for b in args.sweep.split(",") if b]:
        for graph in ("masked_loop", "block_lstm"):
            spec = {"graph": graph, "intra_op": 1, "inter_op": 1, "batch": batch,
                    "runs": args.runs, "calls": max(args.calls, 2048 // batch)}
            out = common.child_result(__file__, spec, label=f"{graph} batch {batch}")
            sweep.setdefault(str(batch), {})[graph] = {
                "wall_ms_per_batch": spread(out["wall_ms"]),
                "cpu_ms_per_batch": spread(out["cpu_ms"]),
                "load_average_1min": out["load_average_1min"]}
        row = sweep[str(batch)]
        row["block_lstm_over_masked_loop_cpu"] = round(
            row["block_lstm"]["cpu_ms_per_batch"]["median"]
            / row["masked_loop"]["cpu_ms_per_batch"]["median"], 3)
        common.log(f"batch {batch}: BlockLSTM / loop CPU {row['block_lstm_over_masked_loop_cpu']}")
    best = {setting: min(GRAPHS, key=lambda g: results[g][setting]["wall_ms_per_batch"]
                         ["median"]) for setting in results[GRAPHS[0]]}
    common.write_result("serving-graph-levers", {
        "benchmark": "serving_graph_levers", "shape": {**SHAPE, "batch": args.batch},
        "graphs": {g: " ".join(line.strip() for line in __doc__.split(f"``{g}``", 1)[1]
                               .split("\n- ", 1)[0].lstrip(":").splitlines())
                   for g in GRAPHS},
        "runs": args.runs, "calls_per_run": args.calls,
        "timing": ("fresh process per graph and setting; 3 untimed batches, then runs of "
                   "calls; wall (perf_counter) and process CPU (process_time) ms per batch; "
                   "median, min, max over runs; the CPU may be shared (load average)"),
        "results": results, "fastest_by_wall_median": best,
        "batch_sweep": {"threads": "intra_op 1, inter_op 1", "by_batch": sweep},
    }, args.results)


if __name__ == "__main__":
    main()
