"""Inference throughput of an exported BiLSTM(128) sentiment classifier vs PyTorch eager on CPU.

The shape: batches of 256 sentences of 30 tokens; embedding 128, one bidirectional LSTM layer of
128 units per direction, max pooling over time, a softmax layer. Contenders:

- ``seqtasks_export_fused`` / ``seqtasks_export_keras``: the sentiment pipeline's own export
  (``seqtasks train sentiment`` for one epoch on the bundled sample in data/sentiment with
  ``units=128 num_layers=1 bidirectional=true embedding_dim=128 pooling=max`` and
  ``rnn_kernel=fused`` or ``keras``), loaded with ``tf.saved_model.load`` and called through its
  ``serving_default`` signature on the raw strings: tokenization, vocabulary lookup, padding and
  masking are in the timed graph;
- ``pytorch``: ``nn.Embedding(padding_idx=0)`` -> ``nn.LSTM(bidirectional=True)`` -> max over
  time -> ``nn.Linear`` -> softmax, eager, ``torch.no_grad()``, on token ids [256, 30] prepared
  beforehand (no tokenization), same vocabulary size.

Floors (diagnoses, not contenders), on random inputs of the same shape, no tokenization:
``tf_products_only`` runs only the layer's matrix products in TensorFlow, per direction the input
product for all steps and one ``h @ recurrent_kernel`` per step in a While loop (no gates, no
masks, no embedding): no TensorFlow graph of this LSTM can beat it. ``pytorch_products_only`` is
the same products as ``torch.mm`` calls, and ``pytorch_lstm_layer`` PyTorch's bidirectional
``nn.LSTM`` alone. ``tf_fused_layer`` is our export's BiLSTM layer alone (what the export spends
outside it is tokenization, lookup and masks), ``tf_lstm_block_cell`` the same network on
TensorFlow's one fused LSTM cell op (``LSTMBlockCell``: the product of ``[x, h]`` and every gate
of a step in one op), the nearest TensorFlow has to oneDNN's primitive; both also with one
intra-op thread. Each reports the products' GFLOP/s (2 x multiply-adds).

Where the export's time goes: ``--profile-batches`` batches of the fused export under the TF
profiler, one inter-op thread (``--threads`` intra-op) so that the ops run one at a time and add
up; milliseconds per batch by part of the graph (by op name scope: before the model, the
recurrent layer's loop steps, the recurrent layer outside its loop, the rest of the model) and by
op type.

Levers: oneDNN off (``TF_ENABLE_ONEDNN_OPTS=0``) for the fused export, and the fused export with
one intra-op thread (inter-op: ``--threads``; TF Serving's
``--tensorflow_intra_op_parallelism=1``); PyTorch on one thread,
and PyTorch with oneDNN off (``torch.backends.mkldnn.enabled = False``: its ``nn.LSTM`` then runs
its own per-step kernels instead of oneDNN's fused RNN primitive; a diagnosis, not a contender).
Every measurement is a fresh process: load or build, ``--warmup`` untimed batches, then
``--batches`` batches timed with ``time.perf_counter`` around the loop; measurements alternate
within each of ``--repeats`` rounds. The CPU may be shared with other work: the load average is
recorded per measurement.

Run by hand from the repository root (not part of the tests; about 3 minutes on 2 cores):

    python bench/inference_throughput.py [--batches 20] [--repeats 2] [--threads 2]
    python bench/inference_throughput.py --batches 2 --repeats 1 --results /tmp/benchsmoke

No recipe (the shape is fixed in SHAPE). Exports go to ``--out DIR`` (reused when they exist) or a
new temporary folder. Writes bench/results/inference-throughput.json (also printed as one JSON
line, the last line of stdout); progress goes to stderr.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import common

SAMPLE = common.REPO / "data" / "sentiment"
SHAPE = {"batch": 256, "tokens": 30, "embedding_dim": 128, "units": 128, "num_layers": 1,
         "bidirectional": True, "pooling": "max"}
KERNELS = ("fused", "keras")
DESCRIPTIONS = {
    "seqtasks_export_fused": "the sentiment export (rnn_kernel=fused), serving_default on raw "
                             "strings (tokenization in the graph)",
    "seqtasks_export_keras": "the same with rnn_kernel=keras",
    "pytorch": "nn.Embedding -> nn.LSTM(bidirectional) -> max over time -> nn.Linear -> "
               "softmax, eager, no_grad, on prepared token ids",
    "tf_products_only": "floor: only the BiLSTM's matrix products in TensorFlow (per direction "
                        "the input product for all steps, then h @ recurrent_kernel per step in "
                        "a While loop), random inputs",
    "pytorch_products_only": "floor: the same products as torch.mm calls, eager, no_grad",
    "pytorch_lstm_layer": "PyTorch's bidirectional nn.LSTM alone (oneDNN's fused RNN primitive), "
                          "no_grad, random inputs",
    "tf_fused_layer": "our Bidirectional(FusedLSTM) layer alone (inference loop), max over time, "
                      "random inputs: no tokenization, lookup or mask",
    "tf_lstm_block_cell": "the same BiLSTM with TensorFlow's fused cell op, LSTMBlockCell, per "
                          "step in a While loop ([x, h] @ w and the gates in one op), max over "
                          "time, random inputs",
}
# Parts of the export's graph, by op name: what each holds.
PARTS = {
    "before_model": "sanitising, tokenization, vocabulary lookup and padding of the raw strings",
    "loop_steps": "the recurrent layer's While loop bodies: h @ recurrent_kernel and the gates",
    "recurrent_layer_outside_loop": "the recurrent layer before and after its loops: input "
                                    "products, mask compaction, reversal, transposes, concat",
    "rest_of_model": "embedding lookup, masked max pooling, the output layer",
}
MODEL_SCOPE = "sentiment_classifier"  # the Keras model's name (pipelines/sentiment.py)
TOP_OP_TYPES = 12
FLOORS = ("tf_products_only", "tf_fused_layer", "tf_lstm_block_cell", "pytorch_products_only",
          "pytorch_lstm_layer")


def product_flops() -> int:
    """2 x the multiply-adds of the BiLSTM's products per batch: per direction, the input
    product [batch * tokens, embedding] x [embedding, 4 units] and one [batch, units] x
    [units, 4 units] per token."""
    gates = 4 * SHAPE["units"]
    rows = SHAPE["batch"] * SHAPE["tokens"]
    return 2 * 2 * rows * gates * (SHAPE["embedding_dim"] + SHAPE["units"])


def export(kernel: str, work: Path) -> Path:
    """The sentiment pipeline's export of the SHAPE model on ``kernel`` (trained one epoch)."""
    root = work / f"sentiment-{kernel}"
    if not (root / "1").exists():
        settings = [f"units={SHAPE['units']}", f"num_layers={SHAPE['num_layers']}",
                    "bidirectional=true", f"embedding_dim={SHAPE['embedding_dim']}",
                    f"pooling={SHAPE['pooling']}", f"rnn_kernel={kernel}", "min_count=1"]
        subprocess.run([sys.executable, "-m", "pipelines.cli", "train", "sentiment",
                        "--train", str(SAMPLE / "train.tsv"), "--valid", str(SAMPLE / "valid.tsv"),
                        "--out", str(root), "--epochs", "1", "--quiet", "--set", *settings],
                       env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3",
                            "PYTHONPATH": str(common.REPO)},
                       check=True, cwd=common.REPO, capture_output=True)
    return root / "1"


def sentences() -> list[str]:
    """SHAPE["batch"] sentences of exactly SHAPE["tokens"] words of the sample (seeded)."""
    words = sorted({w for line in (SAMPLE / "train.tsv").read_text(encoding="utf-8")
                    .splitlines()[1:] for w in line.split("\t", 1)[1].split() if w.isalpha()})
    rng = np.random.default_rng(0)
    return [" ".join(rng.choice(words, SHAPE["tokens"])) for _ in range(SHAPE["batch"])]


def vocabulary_size(export_dir: Path) -> int:
    metadata = common.read_metadata(export_dir)
    return int(metadata["vocab_size"]) if "vocab_size" in metadata else \
        sum(1 for _ in (export_dir / "assets" / "vocab.txt").open(encoding="utf-8"))


def tf_classifier(export_dir: str, threads: int, intra_op: int):
    import tensorflow as tf
    import tensorflow_text  # noqa: F401  (registers the tokenizer ops the export calls)

    tf.config.threading.set_intra_op_parallelism_threads(intra_op)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    classify = tf.saved_model.load(export_dir).signatures["serving_default"]
    texts = tf.constant(sentences())
    return lambda: classify(text=texts)["probabilities"].numpy()


def torch_classifier(vocab: int, threads: int, mkldnn: bool):
    import torch
    from torch import nn

    torch.set_num_threads(threads)
    torch.backends.mkldnn.enabled = mkldnn
    torch.manual_seed(0)

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(vocab, SHAPE["embedding_dim"], padding_idx=0)
            self.lstm = nn.LSTM(SHAPE["embedding_dim"], SHAPE["units"], batch_first=True,
                                bidirectional=True)
            self.output = nn.Linear(2 * SHAPE["units"], 2)

        def forward(self, ids):
            y, _ = self.lstm(self.embedding(ids))
            return torch.softmax(self.output(y.max(dim=1).values), dim=-1)

    model = Model().eval()
    ids = torch.from_numpy(np.random.default_rng(0).integers(
        1, vocab, (SHAPE["batch"], SHAPE["tokens"])).astype("int64"))

    def classify():
        with torch.no_grad():
            return model(ids).numpy()

    return classify


def tf_products(threads: int):
    """The BiLSTM's matrix products alone, in a TensorFlow graph (see FLOORS)."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    batch, tokens, units = SHAPE["batch"], SHAPE["tokens"], SHAPE["units"]
    generator = tf.random.Generator.from_seed(0)
    inputs = generator.normal([tokens * batch, SHAPE["embedding_dim"]])
    kernels = [generator.normal([SHAPE["embedding_dim"], 4 * units]) for _ in range(2)]
    # Scaled so that h keeps its size over the steps: denormal floats would slow the products
    # (PyTorch computes with them; TensorFlow's threads flush them to zero).
    recurrent = [generator.normal([units, 4 * units]) / units ** 0.5 for _ in range(2)]

    @tf.function
    def products():
        outputs = []
        for kernel, recurrent_kernel in zip(kernels, recurrent):
            projected = tf.reshape(tf.matmul(inputs, kernel), [tokens, batch, 4 * units])

            def step(t, h):  # h feeds the next product, as in the LSTM: no step can be skipped
                return t + 1, tf.matmul(h, recurrent_kernel)[:, :units]

            h = tf.while_loop(lambda t, h: t < tokens, step, (0, tf.ones([batch, units])))[1]
            outputs.append(h + projected[-1, :, :units])  # keeps the input product in the graph
        return tf.concat(outputs, axis=-1)

    return lambda: products().numpy()


def tf_lstm_floor(framework: str, threads: int, intra_op: int):
    """``tf_fused_layer`` or ``tf_lstm_block_cell`` (see FLOORS): the BiLSTM and max pooling on
    random embeddings [batch, tokens, embedding]."""
    import keras
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(intra_op)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    batch, tokens, units = SHAPE["batch"], SHAPE["tokens"], SHAPE["units"]
    keras.utils.set_random_seed(0)
    inputs = tf.random.normal([batch, tokens, SHAPE["embedding_dim"]])
    if framework == "tf_fused_layer":
        from seqtasks.layers.fused_rnn import FusedLSTM

        layer = keras.layers.Bidirectional(FusedLSTM(units, return_sequences=True))
        layer(inputs[:1])
        pooled = tf.function(lambda: tf.reduce_max(layer(inputs, training=False), axis=1))
        return lambda: pooled().numpy()
    # LSTMBlockCell's weights: [x, h] rows, gate columns i, c, f, o (the order is immaterial
    # for speed); no peephole, no clipping, forget bias 0 (as Keras).
    weights = [tf.random.normal([SHAPE["embedding_dim"] + units, 4 * units]) / units ** 0.5
               for _ in range(2)]
    bias, no_peephole = tf.zeros([4 * units]), tf.zeros([units])
    zeros = tf.zeros([batch, units])
    time_major = tf.transpose(inputs, [1, 0, 2])

    @tf.function
    def pooled():
        outputs = []
        for w, steps in zip(weights, (time_major, tf.reverse(time_major, [0]))):
            def step(t, h, c, most):
                *_, c, _, _, _, h = tf.raw_ops.LSTMBlockCell(
                    x=steps[t], cs_prev=c, h_prev=h, w=w, wci=no_peephole, wcf=no_peephole,
                    wco=no_peephole, b=bias, forget_bias=0.0, cell_clip=-1.0,
                    use_peephole=False)
                return t + 1, h, c, tf.maximum(most, h)

            start = (0, zeros, zeros, tf.fill([batch, units], -1.0))  # h lies in (-1, 1)
            outputs.append(tf.while_loop(lambda t, *_: t < tokens, step, start)[-1])
        return tf.concat(outputs, axis=-1)

    return lambda: pooled().numpy()


def torch_floor(framework: str, threads: int):
    """``pytorch_products_only`` or ``pytorch_lstm_layer`` (see FLOORS)."""
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    batch, tokens, units = SHAPE["batch"], SHAPE["tokens"], SHAPE["units"]
    inputs = torch.randn(batch, tokens, SHAPE["embedding_dim"])
    if framework == "pytorch_lstm_layer":
        layer = torch.nn.LSTM(SHAPE["embedding_dim"], units, batch_first=True,
                              bidirectional=True).eval()

        def run():
            with torch.no_grad():
                return layer(inputs)[0][:, -1].numpy()

        return run
    flat = inputs.transpose(0, 1).reshape(tokens * batch, -1)
    kernels = [torch.randn(SHAPE["embedding_dim"], 4 * units) for _ in range(2)]
    recurrent = [torch.randn(units, 4 * units) / units ** 0.5 for _ in range(2)]  # as in TF

    def products():
        with torch.no_grad():
            outputs = []
            for kernel, recurrent_kernel in zip(kernels, recurrent):
                projected = torch.mm(flat, kernel).view(tokens, batch, 4 * units)
                h = torch.ones(batch, units)
                for _ in range(tokens):
                    h = torch.mm(h, recurrent_kernel)[:, :units]
                outputs.append(h + projected[-1, :, :units])
            return torch.cat(outputs, dim=-1).numpy()

    return products


def part_of(op_name: str) -> str:
    """The PARTS key of an op of the sentiment export, from its name scope."""
    if MODEL_SCOPE not in op_name:
        return "before_model"
    if "/while/" in op_name:
        return "loop_steps"
    # recurrent.py names a bidirectional layer "<name>_bi_<depth>"
    return "recurrent_layer_outside_loop" if "_bi_" in op_name else "rest_of_model"


def profile(spec: dict) -> dict:
    """Milliseconds per batch of the fused export by part and op type (TF profiler)."""
    import collections
    import tempfile

    import tensorflow as tf

    classify = tf_classifier(spec["export"], 1, spec["threads"])  # one op at a time
    for _ in range(spec["warmup"]):
        classify()
    by_part, by_type = collections.Counter(), collections.Counter()
    with tempfile.TemporaryDirectory() as trace_dir:
        tf.profiler.experimental.start(trace_dir)
        start = time.perf_counter()
        for _ in range(spec["batches"]):
            classify()
        wall = time.perf_counter() - start
        tf.profiler.experimental.stop()
        for name, ms in common.traced_ops(Path(trace_dir)):
            by_part[part_of(name)] += ms / spec["batches"]
            by_type[name.rsplit(":", 1)[1]] += ms / spec["batches"]
    op_ms = sum(by_part.values())
    ranked = by_type.most_common()
    types = dict(ranked[:TOP_OP_TYPES], other=sum(ms for _, ms in ranked[TOP_OP_TYPES:]))
    return {"wall_ms_per_batch": round(wall * 1000 / spec["batches"], 2),
            "op_ms_per_batch": round(op_ms, 2),
            "by_part": {part: {"ms_per_batch": round(by_part[part], 2),
                               "share": round(by_part[part] / op_ms, 4),
                               "holds": PARTS[part]} for part in PARTS},
            "by_op_type": {op: {"ms_per_batch": round(ms, 2), "share": round(ms / op_ms, 4)}
                           for op, ms in types.items()}}


def measure(spec: dict) -> dict:
    if spec.get("profile"):
        return profile(spec)
    if spec["framework"] == "pytorch":
        classify = torch_classifier(spec["vocab"], spec["threads"], spec["mkldnn"])
    elif spec["framework"] == "tf_products_only":
        classify = tf_products(spec["threads"])
    elif spec["framework"] in ("tf_fused_layer", "tf_lstm_block_cell"):
        classify = tf_lstm_floor(spec["framework"], spec["threads"],
                                 spec.get("intra_op", spec["threads"]))
    elif spec["framework"] in FLOORS:
        classify = torch_floor(spec["framework"], spec["threads"])
    else:
        classify = tf_classifier(spec["export"], spec["threads"],
                                 spec.get("intra_op", spec["threads"]))
    for _ in range(spec["warmup"]):
        classify()
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    for _ in range(spec["batches"]):
        probabilities = classify()
    seconds = time.perf_counter() - start
    if spec["framework"] not in FLOORS:
        assert probabilities.shape == (SHAPE["batch"], 2)
    return {"seconds": seconds,
            "sentences_per_second": spec["batches"] * SHAPE["batch"] / seconds,
            "product_gflops": spec["batches"] * product_flops() / seconds / 1e9,
            "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--batches", type=int, default=20, help="timed batches (default 20)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed batches before them")
    parser.add_argument("--repeats", type=int, default=2, help="rounds of every measurement")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--profile-batches", type=int, default=10,
                        help="batches of the fused export traced by the TF profiler (0: none)")
    common.add_arguments(parser, config=False, child=True)
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if common.answer_child(args, measure):
        return
    if min(args.batches, args.warmup, args.repeats, args.threads) < 1:
        parser.error("--batches, --warmup, --repeats and --threads must be >= 1")

    work = common.work_dir(args, "inference")
    exports = {kernel: export(kernel, work) for kernel in KERNELS}
    common.log(f"exports in {work}")
    base = {"batches": args.batches, "warmup": args.warmup, "threads": args.threads,
            "onednn": True}
    specs = {f"seqtasks_export_{k}": {**base, "framework": f"seqtasks_export_{k}",
                                      "export": str(path)} for k, path in exports.items()}
    specs["seqtasks_export_fused+onednn_off"] = {**specs["seqtasks_export_fused"],
                                                 "onednn": False}
    # One thread per op, --threads ops at a time: the two directions' loops run side by side.
    specs["seqtasks_export_fused+intra_op_1"] = {**specs["seqtasks_export_fused"],
                                                 "intra_op": 1}
    torch_note = "measured"
    if importlib.util.find_spec("torch") is not None:
        vocab = vocabulary_size(exports["fused"])
        specs["pytorch"] = {**base, "framework": "pytorch", "vocab": vocab, "mkldnn": True}
        specs["pytorch+intra_op_1"] = {**specs["pytorch"], "threads": 1}
        specs["pytorch+mkldnn_off"] = {**specs["pytorch"], "mkldnn": False}
    for floor in FLOORS:
        if floor.startswith("tf") or "pytorch" in specs:
            specs[floor] = {**base, "framework": floor}
    for floor in ("tf_fused_layer", "tf_lstm_block_cell"):
        specs[f"{floor}+intra_op_1"] = {**specs[floor], "intra_op": 1}
    if "pytorch" not in specs:
        torch_note = "skipped: torch is not importable here"
        common.log(f"pytorch {torch_note}")

    runs: dict[str, list[dict]] = {name: [] for name in specs}
    for repeat in range(args.repeats):
        for name, spec in specs.items():
            env = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": "1" if spec["onednn"] else "0"}
            runs[name].append(common.child_result(__file__, spec, env, label=name))
            common.log(f"round {repeat + 1}/{args.repeats} {name}: "
                       f"{runs[name][-1]['sentences_per_second']:,.0f} sentences/s "
                       f"(load {runs[name][-1]['load_average_1min']})")

    export_profile = None
    if args.profile_batches:
        export_profile = common.child_result(__file__, {
            **specs["seqtasks_export_fused"], "profile": True, "batches": args.profile_batches},
            label="profile")
        common.log("profile of the fused export, ms per batch: " + ", ".join(
            f"{part} {v['ms_per_batch']}" for part, v in export_profile["by_part"].items()))

    measurements, median = {}, {}
    for name, spec in specs.items():
        rates = [r["sentences_per_second"] for r in runs[name]]
        median[name] = round(statistics.median(rates), 1)
        measurements[name] = {
            "description": DESCRIPTIONS[name.split("+")[0]],
            "settings": {"threads": spec["threads"], "onednn": spec["onednn"],
                         "intra_op": spec.get("intra_op", spec["threads"]),
                         **({"mkldnn": spec["mkldnn"]} if "mkldnn" in spec else {})},
            "sentences_per_second": [round(x, 1) for x in rates],
            "median_product_gflops": round(statistics.median(
                r["product_gflops"] for r in runs[name]), 1),
            "load_average_1min": [r["load_average_1min"] for r in runs[name]],
            "median_sentences_per_second": median[name],
            "min_sentences_per_second": round(min(rates), 1),
            "max_sentences_per_second": round(max(rates), 1)}
    torch_runs = [n for n in median if n.startswith("pytorch") and n != "pytorch+mkldnn_off"
                  and n not in FLOORS]
    best_torch = max(torch_runs, key=median.get) if torch_runs else None

    def ratio(a, b):
        return round(median[a] / median[b], 3) if a in median and b in median else None

    common.write_result("inference-throughput", {
        "benchmark": "inference_throughput", "shape": SHAPE, "batches_per_measurement":
        args.batches, "warmup_batches": args.warmup, "repeats": args.repeats,
        "threads": args.threads, "pytorch": torch_note,
        "timing": ("wall clock (time.perf_counter) around the timed batches, fresh process per "
                   "measurement after untimed batches; measurements alternate within each "
                   "round; the CPU is shared with other work (load average per measurement)"),
        "measurements": measurements,
        "median_sentences_per_second": median,
        "pytorch_best_setting": best_torch,
        "ratios": {
            "seqtasks_export_fused_over_pytorch": ratio("seqtasks_export_fused", "pytorch"),
            "seqtasks_export_fused_over_pytorch_best": ratio("seqtasks_export_fused",
                                                             best_torch),
            "seqtasks_export_fused_over_pytorch_mkldnn_off": ratio("seqtasks_export_fused",
                                                                   "pytorch+mkldnn_off"),
            "seqtasks_export_keras_over_pytorch": ratio("seqtasks_export_keras", "pytorch"),
            "seqtasks_export_fused_over_keras": ratio("seqtasks_export_fused",
                                                      "seqtasks_export_keras"),
            "onednn_off_over_on": ratio("seqtasks_export_fused+onednn_off",
                                        "seqtasks_export_fused"),
            "intra_op_1_over_default": ratio("seqtasks_export_fused+intra_op_1",
                                             "seqtasks_export_fused"),
            "seqtasks_export_fused_intra_op_1_over_pytorch": ratio(
                "seqtasks_export_fused+intra_op_1", "pytorch"),
            # < 1: TensorFlow's products alone are slower than PyTorch's whole model.
            "tf_products_only_over_pytorch": ratio("tf_products_only", "pytorch"),
            "seqtasks_export_fused_over_tf_products_only": ratio("seqtasks_export_fused",
                                                                 "tf_products_only"),
            "pytorch_lstm_layer_over_pytorch_products_only": ratio(
                "pytorch_lstm_layer", "pytorch_products_only"),
            # > 1: the export spends that much outside its BiLSTM (tokenization, lookup, masks).
            "tf_fused_layer_over_seqtasks_export_fused": ratio("tf_fused_layer",
                                                               "seqtasks_export_fused"),
            "tf_lstm_block_cell_over_tf_fused_layer": ratio("tf_lstm_block_cell",
                                                            "tf_fused_layer"),
            "tf_lstm_block_cell_over_tf_fused_layer_intra_op_1": ratio(
                "tf_lstm_block_cell+intra_op_1", "tf_fused_layer+intra_op_1")},
        "product_gflops_per_batch": round(product_flops() / 1e9, 3),
        "profile_of_seqtasks_export_fused": export_profile and {
            "batches": args.profile_batches, "inter_op_threads": 1,
            "intra_op_threads": args.threads,
            "timing": ("TF profiler trace; op events of the executor threads summed by part "
                       "(op name scope) and op type, per batch; wall clock around them, the "
                       "profiler's own overhead included"), **export_profile},
    }, args.results)


if __name__ == "__main__":
    main()
