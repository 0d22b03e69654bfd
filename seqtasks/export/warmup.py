"""The warmup requests every export carries: ``assets.extra/tf_serving_warmup_requests``.

TF Serving (and ``seqtasks serve`` / ``seqtasks-model-server``) replays this file, a TFRecord of
``PredictionLog`` records (``tensorflow_serving.apis.prediction_log_pb2``), on a freshly loaded
version before it takes traffic, so graph optimisation and lazy initialisation happen then and
not on the first real request. One ``PredictLog`` per signature of the SavedModel, each a batch
of a few representative examples; the other inputs get small neutral values (1, 1.0, false,
zeros). Each record is run on the export before it is written: a record the export would refuse
(the server would then refuse to load the version) is left out and said so, never written.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Sequence

from seqtasks.errors import ModelError

WARMUP_FILE = Path("assets.extra") / "tf_serving_warmup_requests"
MAX_WARMUP_RECORDS = 1000  # TF Serving's kMaxNumRecords: more fails the version's load
MAX_EXAMPLES = 3  # examples per record: a small batch, like a typical request
MAX_RECORD_BYTES = 4 << 20  # a record larger than this is left out (replay allows 64 MiB)
# Texts of a few lengths (the recurrent loops run a few steps), for exports that take text.
WARMUP_TEXTS = ("A warm , gentle film .",
                "John Smith flew from London to Paris on Monday with his sister .",
                "ok")


def write_warmup_requests(export_dir: str | Path, examples: Sequence[str | bytes] = WARMUP_TEXTS,
                          model_name: str = "") -> dict:
    """Write ``export_dir/assets.extra/tf_serving_warmup_requests`` (``export_dir`` holds a
    written ``saved_model.pb``) from ``examples`` (the raw inputs the export's string inputs take:
    texts, encoded images). Returns what was written, for ``seqtasks.json``:
    ``{"file", "records", "signatures", "skipped": {signature: why}}``."""
    import tensorflow as tf

    export_dir = Path(export_dir)
    examples = list(examples)[:MAX_EXAMPLES]
    if not examples:
        raise ModelError(f"{export_dir}: no warmup examples given (pass a few raw inputs)")
    signature_defs = _signature_defs(export_dir)
    if len(signature_defs) > MAX_WARMUP_RECORDS:
        raise ModelError(f"{export_dir}: {len(signature_defs)} signatures, over TF Serving's "
                         f"{MAX_WARMUP_RECORDS} warmup records")
    loaded = tf.saved_model.load(str(export_dir))  # each record is run before it is written
    records, skipped = [], {}
    for name, signature_def in sorted(signature_defs.items()):
        try:
            arrays = {key: warmup_input(info, examples)
                      for key, info in signature_def.inputs.items()}
            loaded.signatures[name](**{key: tf.constant(value) for key, value in arrays.items()})
        except (NotImplementedError, tf.errors.OpError, ValueError, TypeError) as error:
            skipped[name] = _first_line(error)
            continue
        record = predict_log(model_name, name, arrays).SerializeToString()
        if len(record) > MAX_RECORD_BYTES:
            skipped[name] = f"record of {len(record)} bytes, over {MAX_RECORD_BYTES}"
            continue
        records.append((name, record))
    path = export_dir / WARMUP_FILE
    path.parent.mkdir(exist_ok=True)
    with tf.io.TFRecordWriter(str(path)) as writer:
        for _, record in records:
            writer.write(record)
    for name, why in skipped.items():
        print(f"warning: {path}: no warmup record for signature '{name}' ({why}); its first "
              "request will be slower", file=sys.stderr, flush=True)
    return {"file": str(WARMUP_FILE), "records": len(records),
            "signatures": [name for name, _ in records], "skipped": skipped}


def predict_log(model_name: str, signature_name: str, arrays: dict):
    """One ``PredictionLog`` holding a ``PredictRequest`` for ``signature_name``."""
    import tensorflow as tf
    from tensorflow_serving.apis import predict_pb2, prediction_log_pb2

    request = predict_pb2.PredictRequest()
    request.model_spec.name = model_name
    request.model_spec.signature_name = signature_name
    for key, value in arrays.items():
        request.inputs[key].CopyFrom(tf.make_tensor_proto(value))
    return prediction_log_pb2.PredictionLog(
        predict_log=prediction_log_pb2.PredictLog(request=request))


def warmup_input(info, examples: list):
    """A value for one signature input (a ``TensorInfo`` proto): the examples for a batch of
    strings ([batch] or unknown rank), their words for [batch, words]; 1, 1.0 or false for a
    scalar; zeros for other numeric shapes (unknown sizes: the batch, then 1)."""
    import numpy as np
    import tensorflow as tf

    dtype = tf.dtypes.as_dtype(info.dtype)
    known = info.HasField("tensor_shape") and not info.tensor_shape.unknown_rank
    dims = [dim.size for dim in info.tensor_shape.dim] if known else None
    batch = len(examples)
    if dtype == tf.string:
        if dims is None or dims == [-1]:
            return np.array(examples, dtype=object)
        if dims == [-1, -1]:
            rows = [_words(example) for example in examples]
            width = max(map(len, rows))
            return np.array([row + [b""] * (width - len(row)) for row in rows], dtype=object)
        raise NotImplementedError(f"string input of shape {dims}: no example fits it")
    if not (dtype.is_integer or dtype.is_floating or dtype.is_bool):
        raise NotImplementedError(f"input of type {dtype.name}: no example fits it")
    if dims == []:
        return np.array(False if dtype.is_bool else 1, dtype=dtype.as_numpy_dtype)
    shape = [batch] if dims is None else \
        [size if size >= 0 else (batch if axis == 0 else 1) for axis, size in enumerate(dims)]
    return np.zeros(shape, dtype=dtype.as_numpy_dtype)


def read_warmup_requests(export_dir: str | Path) -> list:
    """The ``PredictionLog`` records of an export's warmup file, read as TF Serving reads them."""
    import tensorflow as tf
    from tensorflow_serving.apis import prediction_log_pb2

    path = Path(export_dir) / WARMUP_FILE
    return [prediction_log_pb2.PredictionLog.FromString(record.numpy())
            for record in tf.data.TFRecordDataset(str(path)).take(MAX_WARMUP_RECORDS + 1)]


def _signature_defs(export_dir: Path) -> dict:
    from tensorflow.core.protobuf import saved_model_pb2

    saved_model = saved_model_pb2.SavedModel()
    saved_model.ParseFromString((export_dir / "saved_model.pb").read_bytes())
    return {name: signature for name, signature in saved_model.meta_graphs[0].signature_def.items()
            if not name.startswith("__")}  # __saved_model_init_op is no signature


def _words(example: str | bytes) -> list[bytes]:
    text = example if isinstance(example, bytes) else example.encode("utf-8")
    return text.split() or [text]


def _first_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return f"{type(error).__name__}: {lines[0] if lines else ''}"
