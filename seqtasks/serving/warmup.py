"""TF Serving's model warmup: replay ``assets.extra/tf_serving_warmup_requests`` (a TFRecord of
``PredictionLog``s) on a freshly loaded version before it takes traffic, so the first real
request does not pay for graph optimisation and lazy initialisation.

As in TF Serving (saved_model_warmup_util.cc): at most 1,000 records; Predict, Classify, Regress
and MultiInference logs; any failure fails the version's load (it is never served half warm).
Each record runs through the callables the server's requests use (``timeout_s``: the server's
deadline, whose bucket picks them, ``serving.timed_call``), so those are the ones warmed; a gRPC
client's sooner deadline may still pick a cold one.
"""

from __future__ import annotations

from pathlib import Path

from seqtasks.errors import ModelError
from seqtasks.export.warmup import MAX_WARMUP_RECORDS, WARMUP_FILE  # what exports write
from seqtasks.serving.timed_call import TimedSignature, timeout_bucket_ms

MAX_RECORD_BYTES = 64 << 20


def replay_warmup(loaded, timeout_s: float | None = None) -> int:
    """Replays the version's warmup records (none: 0) as requests with a deadline of
    ``timeout_s`` (None: none) run; returns how many were replayed."""
    import tensorflow as tf
    from google.protobuf.message import DecodeError
    from tensorflow_serving.apis import prediction_log_pb2

    path = Path(loaded.path) / WARMUP_FILE
    if not path.is_file():
        return 0
    replayed = 0
    try:
        for record in tf.compat.v1.io.tf_record_iterator(str(path)):
            if replayed >= MAX_WARMUP_RECORDS:
                raise ModelError(f"{path}: more than {MAX_WARMUP_RECORDS} warmup records "
                                 "(TF Serving's limit); keep a few representative requests")
            if len(record) > MAX_RECORD_BYTES:
                raise ModelError(f"{path}: record {replayed} is {len(record)} bytes, over "
                                 f"{MAX_RECORD_BYTES}")
            log = prediction_log_pb2.PredictionLog()
            log.ParseFromString(record)
            _replay(loaded, log, path, replayed, timeout_s)
            replayed += 1
    except (tf.errors.OpError, DecodeError, ValueError, KeyError) as error:
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise ModelError(f"{path}: warmup record {replayed} failed ({type(error).__name__}: "
                         f"{first})") from None
    return replayed


def _replay(loaded, log, path: Path, index: int, timeout_s: float | None) -> None:
    import tensorflow as tf

    kind = log.WhichOneof("log_type")
    if kind == "predict_log":
        request = log.predict_log.request
        signature = _signature(loaded, request.model_spec.signature_name, path, index)
        arrays = {name: tf.make_ndarray(proto) for name, proto in request.inputs.items()}
        missing = sorted(set(signature.inputs) - set(arrays))
        if missing or set(arrays) - set(signature.inputs):
            raise ModelError(f"{path}: warmup record {index}: inputs {sorted(arrays)} do not "
                             f"match signature '{signature.name}' ({sorted(signature.inputs)})")
        _run(loaded, signature, arrays, timeout_s)
    elif kind in ("classify_log", "regress_log"):
        request = getattr(log, kind).request
        _run_examples(loaded, request.model_spec.signature_name, request.input, path, index,
                      timeout_s)
    elif kind == "multi_inference_log":
        request = log.multi_inference_log.request
        for task in request.tasks:
            _run_examples(loaded, task.model_spec.signature_name, request.input, path, index,
                          timeout_s)
    else:
        raise ModelError(f"{path}: warmup record {index} is a {kind or 'empty'} log; TF "
                         "Serving replays predict, classify, regress and multi_inference logs")


def _run_examples(loaded, signature_name: str, model_input, path: Path, index: int,
                  timeout_s: float | None) -> None:
    import numpy as np

    signature = _signature(loaded, signature_name, path, index)
    which = model_input.WhichOneof("kind")
    if which == "example_list":
        examples, context = model_input.example_list.examples, b""
    elif which == "example_list_with_context":
        examples = model_input.example_list_with_context.examples
        context = model_input.example_list_with_context.context.SerializeToString()
    else:
        raise ModelError(f"{path}: warmup record {index} has no examples")
    if len(signature.inputs) != 1:
        raise ModelError(f"{path}: warmup record {index}: signature '{signature.name}' does not "
                         "take serialized examples (one string input)")
    serialized = np.array([context + example.SerializeToString() for example in examples],
                          dtype=object)
    _run(loaded, signature, {next(iter(signature.inputs)): serialized}, timeout_s)


def _run(loaded, signature, arrays: dict, timeout_s: float | None) -> None:
    """As a request with a deadline of ``timeout_s`` runs: arriving (the whole timeout left)
    and after waiting in the queue (up to a tenth of it gone), when that is another bucket."""
    timed = TimedSignature(signature, loaded.session)
    if timeout_s is None:
        timed(arrays)
        return
    buckets = {timeout_bucket_ms(timeout_s): timeout_s,
               timeout_bucket_ms(0.9 * timeout_s): 0.9 * timeout_s}
    for seconds in buckets.values():
        timed(arrays, seconds)


def _signature(loaded, name: str, path: Path, index: int):
    name = name or "serving_default"
    if name not in loaded.signatures:
        raise ModelError(f"{path}: warmup record {index} names signature '{name}', which this "
                         f"version lacks (it has {', '.join(sorted(loaded.signatures))})")
    return loaded.signatures[name]
