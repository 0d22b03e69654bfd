"""Batch prediction past one machine: an Apache Beam pipeline over an export's signature.

    pip install 'seqtasks[beam]'
    python -m seqtasks.integrations.apache_beam DIR --input 'data/*.jsonl' --output out/predictions \
        [--text-column text] [--signature serving_default] [--runner DirectRunner | DataflowRunner
        | FlinkRunner | SparkRunner, and that runner's options]

Input: JSON lines, one object per example. Output: JSON-lines shards
(``PREFIX-00000-of-0000N.jsonl``) with every input object and a ``prediction`` field holding the
signature's outputs. Beam does not keep order across shards: keep an id column in the input. The ``ModelHandler`` loads the
SavedModel with ``tf.saved_model.load`` and calls a signature (Beam's ``TFModelHandlerTensor``
cannot load these exports); inputs and outputs go through the same JSON codec as the REST server,
so it works for any task's export.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Iterable, Sequence

import apache_beam as beam
from apache_beam.ml.inference.base import ModelHandler, PredictionResult, RunInference
from apache_beam.options.pipeline_options import PipelineOptions

from seqtasks.errors import ModelError
from seqtasks.export.layout import resolve_export
from seqtasks.serving.codec import to_array, to_json
from seqtasks.serving.models import LoadedVersion


class SignatureModelHandler(ModelHandler[dict, PredictionResult, LoadedVersion]):
    """Runs one signature of an export on batches of JSON records.

    A signature with a single input reads it from ``text_column``; one with several inputs reads
    the fields named like its inputs. Each result's ``inference`` maps output names to JSON values.
    """

    def __init__(self, export_dir: str, signature: str = "serving_default",
                 text_column: str = "text", max_batch_size: int = 256):
        self.export_dir = export_dir
        self.signature_name = signature
        self.text_column = text_column
        self.max_batch_size = max_batch_size

    def load_model(self) -> LoadedVersion:
        return LoadedVersion.load(Path(self.export_dir))  # imports tensorflow_text on the worker

    def run_inference(self, batch: Sequence[dict], model: LoadedVersion,
                      inference_args: dict[str, Any] | None = None) -> Iterable[PredictionResult]:
        signature = model.signature(self.signature_name)
        fields = {name: name for name in signature.inputs}
        if len(fields) == 1:
            fields = {next(iter(fields)): self.text_column}
        arrays = {}
        for name, field in fields.items():
            missing = [i for i, record in enumerate(batch) if field not in record]
            if missing:
                raise ValueError(f"record {json.dumps(batch[missing[0]])[:200]} has no field "
                                 f"'{field}' (input '{name}' of signature '{signature.name}')")
            arrays[name] = to_array([record[field] for record in batch], signature.inputs[name],
                                    f"field '{field}'")
        outputs = {name: to_json(name, array) for name, array in signature(arrays).items()}
        return [PredictionResult(record, {name: values[i] for name, values in outputs.items()})
                for i, record in enumerate(batch)]

    def batch_elements_kwargs(self) -> dict:
        return {"max_batch_size": self.max_batch_size}


def parse_record(line: str) -> dict:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as e:
        raise ValueError(f"invalid JSON line ({e.msg}): {line[:200]}") from None
    if not isinstance(record, dict):
        raise ValueError(f"expected one JSON object per line, got: {line[:200]}")
    return record


def format_result(result: PredictionResult, field: str = "prediction") -> str:
    return json.dumps({**result.example, field: result.inference}, ensure_ascii=False)


class PredictJsonLines(beam.PTransform):
    """Read JSON lines -> RunInference -> write JSON lines (the pipeline's only transform)."""

    def __init__(self, handler: SignatureModelHandler, input_pattern: str, output_prefix: str):
        super().__init__()
        self.handler, self.input_pattern, self.output_prefix = handler, input_pattern, output_prefix

    def expand(self, pipeline_begin):
        return (pipeline_begin
                | "Read" >> beam.io.ReadFromText(self.input_pattern)
                | "Parse" >> beam.Map(parse_record)
                | "Predict" >> RunInference(self.handler)
                | "Format" >> beam.Map(format_result)
                | "Write" >> beam.io.WriteToText(self.output_prefix, file_name_suffix=".jsonl"))


def run(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m seqtasks.integrations.apache_beam", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model_dir", metavar="DIR", help="export root or version directory")
    parser.add_argument("--input", required=True, help="JSON-lines file or glob")
    parser.add_argument("--output", required=True, help="output prefix (shards are added)")
    parser.add_argument("--text-column", default="text")
    parser.add_argument("--signature", default="serving_default")
    parser.add_argument("--version", type=int, help="export version (default: newest)")
    parser.add_argument("--max-batch-size", type=int, default=256)
    args, beam_args = parser.parse_known_args(argv)
    try:
        export_dir = resolve_export(args.model_dir, args.version)
    except ModelError as e:
        sys.exit(f"error: {e}")
    handler = SignatureModelHandler(str(export_dir.resolve()), args.signature, args.text_column,
                                    args.max_batch_size)
    with beam.Pipeline(options=PipelineOptions(beam_args)) as pipeline:
        _ = pipeline | "PredictJsonLines" >> PredictJsonLines(handler, args.input, args.output)


if __name__ == "__main__":
    run()
