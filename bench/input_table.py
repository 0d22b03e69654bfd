"""Input tables in the serving graph: the BiLSTM(128) sentiment model with and without them.

The model of bench/inference_throughput.py (embedding 128, one bidirectional LSTM layer of 128
units per direction, max pooling, 2 labels; random weights, seeded) at ``--vocabulary`` words,
token ids [batch, 30] in (every row 30 words, right-padded as served), probabilities out, in a
``tf.function`` as an export traces it. Three graphs:

- ``embeddings``: the model as trained (embedding rows, then the LSTM's input products: BlockLSTM
  up to 32 rows, the loop above);
- ``tables``: ``seqtasks.export.input_tables.fold_input_tables`` with the tables' path at every
  batch size (``TABLE_MIN_BATCH`` = 0);
- ``export``: the fold as exports make it (BlockLSTM on the embeddings below ``TABLE_MIN_BATCH``
  rows, the tables from there).

Each graph and thread setting (intra-op = inter-op = 1, and 2) runs in a fresh process over the
``--sweep`` batch sizes: per batch size 3 untimed calls, then ``--runs`` runs of about 2,048
sentences; sentences per second of each run (``time.perf_counter``); the median run with min and
max. Graphs alternate within each of ``--repeats`` rounds; the result gives the median over
rounds. Also the size of the tables.

    python bench/input_table.py [--repeats 3] [--runs 5] [--vocabulary 2796]

Writes bench/results/serving-input-table.json (also the last line of stdout).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import common

SHAPE = {"tokens": 30, "embedding_dim": 128, "units": 128}
GRAPHS = ("embeddings", "tables", "export")
THREADS = (1, 2)


def measure(spec: dict) -> dict:
    import keras
    import numpy as np
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(spec["threads"])
    tf.config.threading.set_inter_op_parallelism_threads(spec["threads"])
    from pipelines import sentiment
    from seqtasks.export import input_tables
    from seqtasks.layers import input_table

    keras.utils.set_random_seed(7)
    config = sentiment.SentimentConfig(embedding_dim=SHAPE["embedding_dim"],
                                       units=SHAPE["units"], pooling="max", rnn_kernel="fused")
    model = sentiment.build(config, spec["vocabulary"], 2)
    if spec["graph"] == "tables":
        input_table.TABLE_MIN_BATCH = 0
    served = model if spec["graph"] == "embeddings" else \
        input_tables.fold_input_tables(model, max_bytes=2**40)
    assert (served is model) == (spec["graph"] == "embeddings")
    run = tf.function(lambda ids: served(ids, training=False),
                      input_signature=[tf.TensorSpec([None, None], tf.int32)])
    rng = np.random.default_rng(0)
    rates = {}
    for batch in spec["batches"]:
        ids = tf.constant(rng.integers(2, spec["vocabulary"], size=(batch, SHAPE["tokens"])),
                          tf.int32)
        calls = max(3, 2048 // batch)
        for _ in range(3):
            run(ids)
        per_run = []
        for _ in range(spec["runs"]):
            start = time.perf_counter()
            for _ in range(calls):
                run(ids)
            per_run.append(batch * calls / (time.perf_counter() - start))
        rates[str(batch)] = statistics.median(per_run)
    return {"sentences_per_second": rates, "load_average_1min": os.getloadavg()[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--repeats", type=int, default=3, help="rounds of all graphs")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per batch size")
    parser.add_argument("--vocabulary", type=int, default=2796,
                        help="words in the vocabulary (default: bench/serving_vs_pytorch.py's "
                             "export of data/sentiment)")
    parser.add_argument("--sweep", default="1,2,4,8,16,32,64,256", help="batch sizes")
    common.add_arguments(parser, config=False, out=False, child=True)
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if common.answer_child(args, measure):
        return
    if min(args.repeats, args.runs, args.vocabulary) < 1:
        parser.error("--repeats, --runs and --vocabulary must be >= 1")
    batches = [int(b) for b in args.sweep.split(",") if b]
    rounds: dict[str, list[dict]] = {}
    loads = []
    for round_index in range(args.repeats):
        for threads in THREADS:
            for graph in GRAPHS:
                spec = {"graph": graph, "threads": threads, "batches": batches,
                        "runs": args.runs, "vocabulary": args.vocabulary}
                out = common.child_result(__file__, spec, label=f"{graph} {threads} threads")
                rounds.setdefault(f"{graph}/{threads}", []).append(out["sentences_per_second"])
                loads.append(out["load_average_1min"])
                common.log(f"round {round_index + 1} {graph} {threads} thread(s): "
                           f"{out['sentences_per_second']} (load {out['load_average_1min']})")
    results = {key: {str(b): {"median": round(statistics.median(r[str(b)] for r in runs), 1),
                              "min": round(min(r[str(b)] for r in runs), 1),
                              "max": round(max(r[str(b)] for r in runs), 1)} for b in batches}
               for key, runs in rounds.items()}
    ratios = {f"{graph}/{threads}": {str(b): round(
        results[f"{graph}/{threads}"][str(b)]["median"]
        / results[f"embeddings/{threads}"][str(b)]["median"], 3) for b in batches}
        for graph in GRAPHS[1:] for threads in THREADS}
    units = SHAPE["units"]
    common.write_result("serving-input-table", {
        "benchmark": "input_table", "shape": {**SHAPE, "vocabulary": args.vocabulary,
                                              "bidirectional": True, "pooling": "max"},
        "graphs": {g: " ".join(line.strip() for line in __doc__.split(f"``{g}``", 1)[1]
                               .split("\n\n", 1)[0].split("\n- ", 1)[0].lstrip(":")
                               .splitlines()).strip().rstrip(";.")
                   for g in GRAPHS},
        "table_bytes": args.vocabulary * 2 * 4 * units * 4,
        "repeats": args.repeats, "runs_per_batch": args.runs,
        "timing": ("fresh process per graph and thread setting, graphs alternating within each "
                   "round; per batch size 3 untimed calls, then runs of about 2,048 sentences "
                   "timed with perf_counter; per process the median run; then the median over "
                   "rounds with min and max; the CPU may be shared (load average per process)"),
        "sentences_per_second": results,
        "ratio_to_embeddings": ratios,
        "load_average_1min": loads,
    }, args.results)


if __name__ == "__main__":
    main()
