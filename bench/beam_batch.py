"""Batch prediction with Apache Beam on the DirectRunner: rows/s and peak RSS over 100k rows.

Run by hand from the repository root, in a virtualenv with the ``beam`` extra (apache-beam caps
protobuf and pyarrow, so it lives apart from the main one; .ci/run makes the same one):

    python3 -m venv .venv-beam && .venv-beam/bin/pip install -e ".[dev,beam]"
    .venv-beam/bin/python bench/beam_batch.py                 # 100k rows, about a minute
    .venv-beam/bin/python bench/beam_batch.py --rows 20000 --results /tmp/benchsmoke
    .venv-beam/bin/python bench/beam_batch.py --name beam-batch-2-processes \
        --beam-option=--direct_running_mode=multi_processing --beam-option=--direct_num_workers=2

The model is ``--model`` (a sentiment export root), or, without it, a small sentiment model
(16-dim embeddings, 16 units, 2 epochs) trained in seconds on the bundled sample in data/ into
OUT/sentiment (OUT: ``--out DIR``, reused when it already holds an export, or a new temporary
folder); accuracy is irrelevant here, the pipeline's cost is what is measured. Input: a JSON-lines
file of ``--rows`` records (id, text: real reviews of the sample, drawn at random, seed 0).

Each run is ``python -m seqtasks.integrations.apache_beam`` in its own process, as a user runs
it: read, parse, RunInference (batches of ``--max-batch-size``), format, write shards. A
1,000-row run first gives the start-up time (imports, pipeline construction, model load), so
``rows_per_second_after_startup`` is the steady rate; peak RSS (``wait4``) is the high-water
mark of the largest process for both runs, so memory growing with the input shows up as a
difference (with ``--direct_running_mode=multi_processing`` that is one worker's or the
launcher's, not their sum). The output is counted (every
row predicted once) before the numbers are written.

Writes bench/results/beam-batch.json (``--name`` for another name, ``--results DIR`` for another
folder), also printed as one JSON line, the last line of stdout.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
from pathlib import Path

import common
import serving

SAMPLE = common.REPO / "data" / "sentiment"
SMALL_MODEL = ["embedding_dim=16", "units=16", "batch_size=32", "epochs=2", "min_count=1"]


def small_model(work: Path) -> Path:
    root = work / "sentiment"
    if not (root / "1").exists():
        subprocess.run([sys.executable, "-m", "pipelines.cli", "train", "sentiment",
                        "--train", str(SAMPLE / "train.tsv"), "--valid", str(SAMPLE / "valid.tsv"),
                        "--out", str(root), "--quiet", "--set", *SMALL_MODEL],
                       env=serving.ENV, check=True, cwd=common.REPO)
    return root


def write_records(path: Path, rows: int) -> None:
    texts, rng = serving.sentences("sentiment"), random.Random(0)
    with path.open("w", encoding="utf-8") as out:
        for i in range(rows):
            out.write(json.dumps({"id": i, "text": texts[rng.randrange(len(texts))]}) + "\n")


def beam_run(model: Path, source: Path, output: Path, args) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one Beam pipeline process; checks that every input
    row came out once."""
    seconds, rss = common.timed_process(
        [sys.executable, "-m", "seqtasks.integrations.apache_beam", str(model),
         "--input", str(source), "--output", str(output),
         "--max-batch-size", str(args.max_batch_size), "--runner", "DirectRunner",
         *args.beam_options], env=serving.ENV)
    shards = sorted(output.parent.glob(f"{output.name}-*.jsonl"))
    ids = [json.loads(line)["id"] for shard in shards
           for line in shard.read_text(encoding="utf-8").splitlines()]
    expected = sum(1 for _ in source.open(encoding="utf-8"))
    if sorted(ids) != list(range(expected)):
        raise SystemExit(f"bench: the Beam output of {source} does not hold every row once "
                         f"({len(ids)} rows out, {expected} in)")
    for shard in shards:
        shard.unlink()
    return seconds, rss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, help="sentiment export root (default: train one)")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--max-batch-size", type=int, default=256)
    parser.add_argument("--beam-option", action="append", default=[], dest="beam_options",
                        metavar="OPTION", help="extra Beam pipeline option, e.g. "
                        "--beam-option=--direct_num_workers=2 (repeatable)")
    parser.add_argument("--name", default="beam-batch", help="result file name (default: "
                        "beam-batch; e.g. beam-batch-2-processes with --beam-option)")
    common.add_arguments(parser, config=False)
    args = parser.parse_args()
    work = common.work_dir(args, "beam")
    model = args.model or small_model(work)
    metadata = common.read_metadata(common.resolve_export(model))
    batch = work / "beam"
    batch.mkdir(parents=True, exist_ok=True)
    small, large = batch / "small.jsonl", batch / "large.jsonl"
    write_records(small, 1000)
    write_records(large, args.rows)
    common.log(f"Beam DirectRunner over 1,000 rows, then {args.rows:,}")
    small_seconds, small_rss = beam_run(model, small, batch / "small-out", args)
    seconds, rss = beam_run(model, large, batch / "large-out", args)
    small.unlink()
    large.unlink()
    import apache_beam

    result = {
        "model": str(model),
        "model_config": {"task": metadata.get("task"), "config": metadata.get("config")},
        "runner": "DirectRunner", "apache_beam": apache_beam.__version__,
        "virtualenv": sys.prefix,
        "beam_options": args.beam_options, "max_batch_size": args.max_batch_size,
        "rows": args.rows, "seconds": round(seconds, 1),
        "rows_per_second": round(args.rows / seconds, 1),
        "rows_per_second_after_startup": round((args.rows - 1000) / (seconds - small_seconds), 1),
        "startup_and_1000_rows_seconds": round(small_seconds, 1),
        "peak_rss_mib": round(rss, 1), "peak_rss_mib_1000_rows": round(small_rss, 1),
        "work_dir": str(work)}
    common.write_result(args.name, result, args.results)


if __name__ == "__main__":
    main()
