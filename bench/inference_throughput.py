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

Levers: oneDNN off (``TF_ENABLE_ONEDNN_OPTS=0``) for the fused export; PyTorch on one thread,
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
}


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


def tf_classifier(export_dir: str, threads: int):
    import tensorflow as tf
    import tensorflow_text  # noqa: F401  (registers the tokenizer ops the export calls)

    tf.config.threading.set_intra_op_parallelism_threads(threads)
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


def measure(spec: dict) -> dict:
    if spec["framework"] == "pytorch":
        classify = torch_classifier(spec["vocab"], spec["threads"], spec["mkldnn"])
    else:
        classify = tf_classifier(spec["export"], spec["threads"])
    for _ in range(spec["warmup"]):
        classify()
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    for _ in range(spec["batches"]):
        probabilities = classify()
    seconds = time.perf_counter() - start
    assert probabilities.shape == (SHAPE["batch"], 2)
    return {"seconds": seconds,
            "sentences_per_second": spec["batches"] * SHAPE["batch"] / seconds,
            "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--batches", type=int, default=20, help="timed batches (default 20)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed batches before them")
    parser.add_argument("--repeats", type=int, default=2, help="rounds of every measurement")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
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
    torch_note = "measured"
    if importlib.util.find_spec("torch") is not None:
        vocab = vocabulary_size(exports["fused"])
        specs["pytorch"] = {**base, "framework": "pytorch", "vocab": vocab, "mkldnn": True}
        specs["pytorch+intra_op_1"] = {**specs["pytorch"], "threads": 1}
        specs["pytorch+mkldnn_off"] = {**specs["pytorch"], "mkldnn": False}
    else:
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

    measurements, median = {}, {}
    for name, spec in specs.items():
        rates = [r["sentences_per_second"] for r in runs[name]]
        median[name] = round(statistics.median(rates), 1)
        measurements[name] = {
            "description": DESCRIPTIONS[name.split("+")[0]],
            "settings": {"threads": spec["threads"], "onednn": spec["onednn"],
                         **({"mkldnn": spec["mkldnn"]} if "mkldnn" in spec else {})},
            "sentences_per_second": [round(x, 1) for x in rates],
            "load_average_1min": [r["load_average_1min"] for r in runs[name]],
            "median_sentences_per_second": median[name],
            "min_sentences_per_second": round(min(rates), 1),
            "max_sentences_per_second": round(max(rates), 1)}
    torch_runs = [n for n in median if n.startswith("pytorch") and n != "pytorch+mkldnn_off"]
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
                                        "seqtasks_export_fused")},
    }, args.results)


if __name__ == "__main__":
    main()
