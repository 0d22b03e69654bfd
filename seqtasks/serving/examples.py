"""The Classify and Regress APIs: tf.Examples in (JSON or proto), ``results`` out.

REST bodies (https://www.tensorflow.org/tfx/serving/api_rest#classify_and_regress_api):
``{"signature_name": ..., "context": {...}, "examples": [{feature: value or [values]}, ...]}``.
A JSON integer becomes an int64 feature, a number with a fraction or exponent a float feature, a
string or ``{"b64": ...}`` a bytes feature. The context's features are added to every example
(an example's own feature of the same name wins), by serialising both and concatenating the
bytes, as TF Serving does. The signature gets the serialized examples as its one string input.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses

import numpy as np

from seqtasks.serving.codec import DecodedInputs, is_b64, parse_json_object
from seqtasks.serving.errors import RequestError, WrongSignatureKind
from seqtasks.serving.limits import RequestLimits, check_strings
from seqtasks.serving.models import CLASSIFY, PREDICT, REGRESS, Signature

KIND = {"classify": CLASSIFY, "regress": REGRESS, "predict": PREDICT}


@dataclasses.dataclass
class ExamplesRequest:
    signature_name: str | None
    examples: list  # serialized tf.Example bytes, context already merged


def parse_examples_body(body: bytes) -> ExamplesRequest:
    request = parse_json_object(body, "'examples'")
    unknown = sorted(set(request) - {"signature_name", "examples", "context"})
    if unknown:
        raise RequestError(f"unknown field '{unknown[0]}' in request body (expected "
                           "'signature_name', 'context' and 'examples')")
    name = request.get("signature_name")
    examples = request.get("examples")
    if not isinstance(examples, list) or not examples:
        raise RequestError("'examples' must be a non-empty list of objects (feature -> value)")
    context = b""
    if "context" in request:
        context = _example(request["context"], "'context'").SerializeToString()
    return ExamplesRequest(name, [context + _example(example, f"example {index}")
                                  .SerializeToString() for index, example in enumerate(examples)])


def _example(features, where: str):
    from tensorflow.core.example import example_pb2

    if not isinstance(features, dict):
        raise RequestError(f"{where} must be an object of features (name -> value or list)")
    example = example_pb2.Example()
    for name, value in features.items():
        values = value if isinstance(value, list) else [value]
        feature = example.features.feature[name]
        if not values:
            raise RequestError(f"{where}: feature '{name}' is an empty list (its type cannot be "
                               "told)")
        if any(isinstance(v, bool) for v in values):
            raise RequestError(f"{where}: feature '{name}': booleans are not a tf.Example type "
                               "(use 0 or 1)")
        if all(isinstance(v, int) for v in values):
            if any(not -2**63 <= v < 2**63 for v in values):
                raise RequestError(f"{where}: feature '{name}': integer out of int64 range")
            feature.int64_list.value.extend(values)
        elif all(isinstance(v, (int, float)) for v in values):
            feature.float_list.value.extend(float(v) for v in values)
        elif all(isinstance(v, str) or is_b64(v) for v in values):
            feature.bytes_list.value.extend(_bytes(v, where, name) for v in values)
        else:
            raise RequestError(f"{where}: feature '{name}' must be numbers or strings (all of "
                               "one type), or a list of them")
    return example


def _bytes(value, where: str, name: str) -> bytes:
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    try:
        return base64.b64decode(value["b64"], validate=True)
    except (binascii.Error, ValueError):
        raise RequestError(f"{where}: feature '{name}': invalid base64") from None


def check_kind(signature: Signature, api: str) -> None:
    """A signature serves the API its method_name says (TF Serving's check)."""
    if signature.method_name != KIND[api]:
        raise WrongSignatureKind(
            f"signature '{signature.name}' has method_name '{signature.method_name}', not "
            f"'{KIND[api]}': use the API it was exported for, or another signature_name")
    if api != "predict":
        specs = list(signature.inputs.values())
        if len(specs) != 1 or specs[0].dtype.name != "string":
            raise WrongSignatureKind(f"signature '{signature.name}' must have exactly one "
                                     "string input (the serialized tf.Examples)")


def examples_array(examples: list[bytes]) -> np.ndarray:
    array = np.empty(len(examples), dtype=object)
    array[:] = examples
    return array


def classify_results(outputs: dict[str, np.ndarray], rows: int) -> list[list[tuple[str, float]]]:
    """Per example, its (label, score) pairs: from ``classes`` and/or ``scores`` outputs of shape
    [examples, classes]; a missing one gives labels "" or scores 0, as TF Serving's proto
    defaults."""
    classes, scores = outputs.get("classes"), outputs.get("scores")
    if classes is None and scores is None:
        raise RequestError("the classify signature has neither a 'classes' nor a 'scores' output")
    for name, array in (("classes", classes), ("scores", scores)):
        if array is not None and (array.ndim != 2 or array.shape[0] != rows):
            raise RequestError(f"output '{name}' has shape {list(array.shape)}; a classify "
                               f"signature needs [{rows} examples, classes]")
    if classes is not None and scores is not None and classes.shape != scores.shape:
        raise RequestError(f"outputs 'classes' {list(classes.shape)} and 'scores' "
                           f"{list(scores.shape)} differ in shape")
    shape = (classes if classes is not None else scores).shape
    return [[(classes[i, j].decode("utf-8", "replace") if classes is not None else "",
              float(scores[i, j]) if scores is not None else 0.0) for j in range(shape[1])]
            for i in range(shape[0])]


def regress_results(outputs: dict[str, np.ndarray], rows: int) -> list[float]:
    """One value per example from the ``outputs`` output ([examples] or [examples, 1])."""
    values = outputs.get("outputs")
    if values is None:
        raise RequestError("the regress signature has no 'outputs' output")
    if values.shape not in ((rows,), (rows, 1)):
        raise RequestError(f"output 'outputs' has shape {list(values.shape)}; a regress "
                           f"signature needs [{rows}] or [{rows}, 1]")
    return [float(v) for v in values.reshape(rows)]


def examples_inputs(examples: list[bytes], signature, max_rows: int,
                    limits: RequestLimits | None = None) -> DecodedInputs:
    """Serialized tf.Examples as the one input of a classify or regress signature."""
    if len(examples) > max_rows:
        raise RequestError(f"batch too large: {len(examples)} examples in one request, at most "
                           f"{max_rows} (the server's --max-batch-size); split the request")
    array = examples_array(examples)
    if limits is not None:
        check_strings(array, "'examples'", limits)
    return DecodedInputs({next(iter(signature.inputs)): array}, {}, len(examples))


async def run_examples(core, name: str, loaded, record, api: str,
                       signature_name: str | None, examples: list[bytes],
                       deadline: float | None = None) -> list:
    """Classify or Regress over serialized examples: the results, one per example, answered
    before ``deadline`` (``time.monotonic()`` seconds)."""
    signature = loaded.signature(signature_name)
    record.signature = signature.name
    check_kind(signature, api)
    inputs = examples_inputs(examples, signature, core.config.max_batch_size,
                             core.config.limits)
    outputs = await core.run(name, loaded, signature, inputs, "example", deadline)
    results = classify_results if api == "classify" else regress_results
    return results(outputs, inputs.rows)
