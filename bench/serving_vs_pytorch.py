"""Serving speed like for like: the BiLSTM(128) sentiment export against the same model in PyTorch.

The model is bench/inference_throughput.py's (embedding 128, one bidirectional LSTM layer of 128
units per direction, max pooling over time, 2 labels), trained one epoch on data/sentiment. Two
levels, each at 1 and 2 threads and at batch 1, 32 and 256, on the same sentences (30 words of
the sample each, seeded):

- ``strings``: raw strings in, labels out, on both sides. Ours: the export's ``serving_default``
  (tokenization, vocabulary lookup, padding, model, label names, all in the graph). PyTorch: what
  a PyTorch user writes: the same tokenization in Python (``regex``: NFKC and case folding, words
  of letters, marks, digits and ``_``, every other visible character a token), a dict lookup in
  the export's own vocabulary (unknown -> [UNK]), truncation to ``max_length``, padding to a
  tensor, then ``nn.Embedding -> nn.LSTM(bidirectional) -> max over time -> nn.Linear ->
  softmax`` (eager, ``no_grad``) and the label names. PyTorch's LSTM gets the padded batch (the
  bench's sentences have equal lengths, so that is its correct, fastest path: oneDNN's RNN
  primitive; ``pack_padded_sequence`` would leave it).
- ``ids``: token ids [batch, 30] in, label probabilities out (the layers; softmax on both sides):
  ours is the export's Keras model (same config, random weights) in a ``tf.function``, right
  padding as served; PyTorch the same module as above on an id tensor.

Contenders: ``seqtasks`` (the export as it is built now; at the ids level its model with the
input tables an export folds in, ``seqtasks.export.input_tables``), ``seqtasks_before`` (the
same export traced with the serving graph of before: the LSTM inference loop that served before
the BlockLSTM path, ``fused_rnn`` replaced by its masked loop while exporting, the tokenizer's
general path for every batch, without the ASCII fast path, and no input tables), ``pytorch``. Threads: ``tf.config`` intra-op =
inter-op = N for TensorFlow, ``torch.set_num_threads(N)``; and ``seqtasks+intra_op_1`` at N=2
(intra-op 1, inter-op 2: TF Serving's ``--tensorflow_intra_op_parallelism=1``, the two
directions side by side on a thread each).

Every contender runs in a fresh process that measures all three batch sizes: per batch size,
``--warmup`` untimed calls, then ``--runs`` runs of a fixed number of calls (``CALLS``) timed with
``time.perf_counter``; a run's rate is sentences per second; the process reports the median run.
Contenders alternate within each of ``--repeats`` rounds; the result gives the median over rounds
and the spread (min, max), the load average before and after each process, and the ratios
ours / PyTorch. Also a TF-profiler breakdown of both exports (before / after), as
bench/inference_throughput.py takes it.

Run by hand from the repository root (about 10 minutes on 2 idle cores):

    python bench/serving_vs_pytorch.py [--repeats 3] [--runs 5] [--out /tmp/serving-exports]

Writes bench/results/serving-vs-pytorch.json (also the last line of stdout).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import common
import inference_throughput as throughput

BATCHES = (1, 32, 256)
THREADS = (1, 2)
LEVELS = ("strings", "ids")
CALLS = {1: 200, 32: 40, 256: 8}  # calls per timed run, about the same time each
# Today's trace with the serving graph of before: fused_rnn replaced by its masked loop, every
# batch tokenized the general way (no ASCII fast path), no input tables.
BEFORE = ("import seqtasks.layers.fused_rnn as f; f.fused_rnn = f._masked_loop; "
          "from seqtasks.text.tokenizers import WordTokenizer as W; "
          "W.__call__ = W._unicode_tokens; "
          "import seqtasks.export.input_tables as t; t.fold_input_tables = lambda m, *a: m; "
          "import sys; from pipelines.cli.main import main; sys.exit(main(sys.argv[1:]))")


def export_before(work: Path) -> Path:
    """The same export as ``throughput.export("fused", ...)``, traced with the loop of before."""
    root = work / "sentiment-fused-before"
    if not (root / "1").exists():
        settings = [f"units={throughput.SHAPE['units']}", "num_layers=1", "bidirectional=true",
                    f"embedding_dim={throughput.SHAPE['embedding_dim']}", "pooling=max",
                    "rnn_kernel=fused", "min_count=1"]
        subprocess.run([sys.executable, "-c", BEFORE, "train", "sentiment",
                        "--train", str(throughput.SAMPLE / "train.tsv"),
                        "--valid", str(throughput.SAMPLE / "valid.tsv"), "--out", str(root),
                        "--epochs", "1", "--quiet", "--set", *settings],
                       env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3",
                            "PYTHONPATH": str(common.REPO)},
                       check=True, cwd=common.REPO, capture_output=True)
    return root / "1"


# --- PyTorch: what its user writes -------------------------------------------------------------

def python_encoder(export_dir: str):
    """``(encode, vocabulary, labels)``: the export's tokenization and lookup written in Python,
    as a PyTorch user would; ``encode(texts)`` -> right-padded ids [batch, time] (numpy)."""
    import unicodedata

    import regex

    metadata = common.read_metadata(Path(export_dir))
    vocabulary = {token: i for i, token in enumerate(
        (Path(export_dir) / "assets" / "vocab.txt").read_text(encoding="utf-8").splitlines())}
    max_length = metadata["config"]["max_length"]
    token = regex.compile(r"[\p{L}\p{M}\p{N}_]+|[^\p{L}\p{M}\p{N}_\s\p{Z}\p{Cc}]")

    def encode(texts):
        rows = [[vocabulary.get(t, 1) for t in token.findall(
            unicodedata.normalize("NFKC", text).casefold())][:max_length] for text in texts]
        width = max(1, max(map(len, rows)))
        return np.array([row + [0] * (width - len(row)) for row in rows], dtype=np.int64)

    return encode, vocabulary, metadata["labels"]


def torch_pipeline(export_dir: str, threads: int):
    """``(classify_strings, classify_ids)``: raw strings -> labels, ids -> probabilities."""
    import torch
    from torch import nn

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    encode, vocabulary, labels = python_encoder(export_dir)
    shape = throughput.SHAPE

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(len(vocabulary), shape["embedding_dim"], padding_idx=0)
            self.lstm = nn.LSTM(shape["embedding_dim"], shape["units"], batch_first=True,
                                bidirectional=True)
            self.output = nn.Linear(2 * shape["units"], len(labels))

        def forward(self, ids):
            y, _ = self.lstm(self.embedding(ids))
            y = y.masked_fill((ids == 0)[..., None], -1e9)  # padding never wins the max
            return torch.softmax(self.output(y.max(dim=1).values), dim=-1)

    model = Model().eval()

    def classify_strings(texts):
        with torch.no_grad():
            ids = torch.from_numpy(encode(texts))
            return [labels[i] for i in model(ids).argmax(dim=-1).tolist()]

    def classify_ids(ids):
        with torch.no_grad():
            return model(ids).numpy()

    return classify_strings, classify_ids, lambda texts: torch.from_numpy(encode(texts))


# --- TensorFlow: the export, and its model on ids ----------------------------------------------

def tf_pipeline(export_dir: str, intra_op: int, inter_op: int, before: bool):
    import tensorflow as tf
    import tensorflow_text  # noqa: F401  (registers the tokenizer ops the export calls)

    tf.config.threading.set_intra_op_parallelism_threads(intra_op)
    tf.config.threading.set_inter_op_parallelism_threads(inter_op)
    if before:
        import seqtasks.layers.fused_rnn as fused

        fused.fused_rnn = fused._masked_loop
    from pipelines import sentiment
    from seqtasks import config as config_lib

    classify = tf.saved_model.load(export_dir).signatures["serving_default"]
    metadata = common.read_metadata(Path(export_dir))
    config = config_lib.from_dict(sentiment.SentimentConfig, metadata["config"])
    model = sentiment.build(config, int(metadata["vocab_size"]), len(metadata["labels"]))
    if not before:  # the model as the export serves it
        from seqtasks.export.input_tables import fold_input_tables

        model = fold_input_tables(model)
    on_ids = tf.function(lambda ids: model(ids, training=False),
                         input_signature=[tf.TensorSpec([None, None], tf.int32)])

    def classify_strings(texts):
        return [label.decode() for label in classify(text=tf.constant(texts))["label"].numpy()]

    def classify_ids(ids):
        return on_ids(ids).numpy()

    return classify_strings, classify_ids


def rates(call, batch: int, warmup: int, runs: int) -> list[float]:
    for _ in range(warmup):
        call()
    measured = []
    for _ in range(runs):
        start = time.perf_counter()
        for _ in range(CALLS[batch]):
            call()
        measured.append(CALLS[batch] * batch / (time.perf_counter() - start))
    return measured


def measure(spec: dict) -> dict:
    texts = throughput.sentences()
    if spec["side"] == "pytorch":
        strings, on_ids, encode = torch_pipeline(spec["export"], spec["threads"])
        ids = encode(texts)
    else:
        import tensorflow as tf

        strings, on_ids = tf_pipeline(spec["export"], spec["intra_op"], spec["threads"],
                                      spec["side"] == "seqtasks_before")
        ids = tf.constant(python_encoder(spec["export"])[0](texts), tf.int32)
    load_before = os.getloadavg()[0]
    result = {}
    for batch in BATCHES:
        if spec["level"] == "strings":
            given = texts[:batch]
            call = lambda: strings(given)  # noqa: E731
        else:
            given = ids[:batch]
            call = lambda: on_ids(given)  # noqa: E731
        measured = rates(call, batch, spec["warmup"], spec["runs"])
        result[str(batch)] = {"median": statistics.median(measured), "min": min(measured),
                              "max": max(measured)}
    return {"sentences_per_second": result,
            "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)]}


def profile(export_dir: Path, threads: int, batches: int) -> dict:
    """bench/inference_throughput.py's TF-profiler breakdown of ``export_dir`` (batch 256)."""
    return common.child_result(throughput.__file__, {
        "profile": True, "export": str(export_dir), "threads": threads, "warmup": 3,
        "batches": batches}, label=f"profile {export_dir}")


def contenders(exports: dict, args) -> dict:
    """Every measured process's spec, by name ``side/level/threads``."""
    specs = {}
    for level in LEVELS:
        for threads in THREADS:
            base = {"level": level, "threads": threads, "intra_op": threads,
                    "warmup": args.warmup, "runs": args.runs}
            specs[f"seqtasks/{level}/{threads}"] = {**base, "side": "seqtasks",
                                                    "export": str(exports["after"])}
            specs[f"seqtasks_before/{level}/{threads}"] = {**base, "side": "seqtasks_before",
                                                           "export": str(exports["before"])}
            specs[f"pytorch/{level}/{threads}"] = {**base, "side": "pytorch",
                                                   "export": str(exports["after"])}
            if threads > 1:
                specs[f"seqtasks+intra_op_1/{level}/{threads}"] = {
                    **specs[f"seqtasks/{level}/{threads}"], "intra_op": 1}
    return specs


def summary(runs: dict) -> dict:
    """Per contender and batch size: median over rounds, min and max of the rounds' medians."""
    table = {}
    for name, rounds in runs.items():
        table[name] = {}
        for batch in map(str, BATCHES):
            medians = [r["sentences_per_second"][batch]["median"] for r in rounds]
            table[name][batch] = {"median": round(statistics.median(medians), 1),
                                  "min": round(min(medians), 1), "max": round(max(medians), 1)}
    return table


def ratios(table: dict) -> dict:
    """ours / PyTorch (and after / before) per level, threads and batch, medians."""
    out = {}
    for level in LEVELS:
        for threads in THREADS:
            torch_rates = table[f"pytorch/{level}/{threads}"]
            for ours in ("seqtasks", "seqtasks_before", "seqtasks+intra_op_1"):
                name = f"{ours}/{level}/{threads}"
                if name in table:
                    out[f"{name}_over_pytorch"] = {
                        b: round(table[name][b]["median"] / torch_rates[b]["median"], 3)
                        for b in table[name]}
            after, before = table[f"seqtasks/{level}/{threads}"], \
                table[f"seqtasks_before/{level}/{threads}"]
            out[f"seqtasks/{level}/{threads}_over_before"] = {
                b: round(after[b]["median"] / before[b]["median"], 3) for b in after}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--repeats", type=int, default=3, help="rounds of every contender")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per batch size")
    parser.add_argument("--warmup", type=int, default=3, help="untimed calls per batch size")
    parser.add_argument("--profile-batches", type=int, default=10,
                        help="batches of 256 per export under the TF profiler (0: none)")
    common.add_arguments(parser, config=False, child=True)
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if common.answer_child(args, measure):
        return
    if min(args.repeats, args.runs, args.warmup) < 1:
        parser.error("--repeats, --runs and --warmup must be >= 1")
    work = common.work_dir(args, "serving")
    exports = {"after": throughput.export("fused", work), "before": export_before(work)}
    common.log(f"exports in {work}")
    specs = contenders(exports, args)
    runs: dict[str, list[dict]] = {name: [] for name in specs}
    for repeat in range(args.repeats):
        for name, spec in specs.items():
            runs[name].append(common.child_result(__file__, spec, label=name))
            common.log(f"round {repeat + 1}/{args.repeats} {name}: " + ", ".join(
                f"b{b} {v['median']:,.0f}/s" for b, v in
                runs[name][-1]["sentences_per_second"].items())
                + f" (load {runs[name][-1]['load_average_1min']})")
    profiles = {}
    if args.profile_batches:
        for when in ("before", "after"):
            profiles[when] = profile(exports[when], max(THREADS), args.profile_batches)
            common.log(f"profile {when}: " + ", ".join(
                f"{op} {v['ms_per_batch']}" for op, v in
                list(profiles[when]["by_op_type"].items())[:6]))
    table = summary(runs)
    common.write_result("serving-vs-pytorch", {
        "benchmark": "serving_vs_pytorch", "shape": throughput.SHAPE,
        "levels": {"strings": "raw strings in, labels out (tokenization and lookup included: "
                              "in the graph for ours, in Python for PyTorch)",
                   "ids": "token ids [batch, 30] in, probabilities out (the model's layers)"},
        "contenders": {"seqtasks": "the export as built now (BlockLSTM below 8 rows, input "
                                   "tables from there)",
                       "seqtasks_before": "the same export traced with the serving graph "
                                          "of before: the masked-loop inference, the "
                                          "general tokenizer path for every batch, no "
                                          "input tables",
                       "seqtasks+intra_op_1": "seqtasks with intra-op 1, inter-op 2",
                       "pytorch": "nn.Embedding -> nn.LSTM(bidirectional) -> masked max -> "
                                  "nn.Linear -> softmax, eager, no_grad; Python tokenization "
                                  "and dict lookup at the strings level"},
        "batches": list(BATCHES), "threads": list(THREADS), "calls_per_run": CALLS,
        "runs_per_batch": args.runs, "warmup_calls": args.warmup, "repeats": args.repeats,
        "timing": ("wall clock (time.perf_counter) around a fixed number of calls after "
                   "untimed ones, fresh process per contender, contenders alternating within "
                   "each round; per round the median run, then the median over rounds with "
                   "the rounds' min and max; the CPU may be shared (load average per process)"),
        "sentences_per_second": table,
        "ratios": ratios(table),
        "load_average_1min": {name: [r["load_average_1min"] for r in rounds]
                              for name, rounds in runs.items()},
        "versions": {"torch": common._version("torch", "torch"),
                     "tensorflow_text": common._version("tensorflow_text", "tensorflow-text")},
        "profiles": profiles and {
            "batch": throughput.SHAPE["batch"], "batches": args.profile_batches,
            "intra_op_threads": max(THREADS), "inter_op_threads": 1, **profiles},
    }, args.results)


if __name__ == "__main__":
    main()
