"""TF Serving's REST JSON <-> numpy arrays, checked against a signature's input specs.

Request bodies (https://www.tensorflow.org/tfx/serving/api_rest#predict_api):
``{"signature_name": ..., "instances": [...]}`` (row format: one entry per example; an entry is the
value of the only input, or an object of named inputs) or ``{"inputs": ...}`` (columnar: the value
of the only input, or an object of named inputs). Binary strings may be sent as ``{"b64": ...}``.
Every problem is a ``RequestError`` whose message names the field, the instance and the fix.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import math

import numpy as np

from seqtasks.serving.errors import RequestError
from seqtasks.serving.limits import RequestLimits, check_elements, check_sizes, check_strings
from seqtasks.serving.models import Signature, TensorInfo, numpy_dtype


@dataclasses.dataclass
class PredictRequest:
    signature_name: str | None
    row_format: bool  # "instances" (rows) or "inputs" (columns)
    payload: object


@dataclasses.dataclass
class DecodedInputs:
    """Arrays for one request: ``batched`` ones share dimension 0 (``rows``); ``unbatched`` ones
    (scalars, fixed shapes) must be equal for requests to share a model call."""

    batched: dict[str, np.ndarray]
    unbatched: dict[str, np.ndarray]
    rows: int


def parse_json_object(body: bytes, fields: str) -> dict:
    """The body as a JSON object (``fields`` says what it should hold), or a RequestError."""
    try:
        request = json.loads(body)
    except RecursionError:
        raise RequestError("malformed JSON request body: nested too deeply") from None
    except ValueError as e:  # JSONDecodeError, UnicodeDecodeError, over-long integers
        raise RequestError(f"malformed JSON request body: {e}") from None
    if not isinstance(request, dict):
        raise RequestError(f"request body must be a JSON object with {fields}, got "
                           f"{_json_type(request)}")
    name = request.get("signature_name")
    if name is not None and not isinstance(name, str):
        raise RequestError(f"'signature_name' must be a string, got {_json_type(name)}")
    return request


def parse_predict_body(body: bytes) -> PredictRequest:
    request = parse_json_object(body, "'instances' or 'inputs'")
    unknown = sorted(set(request) - {"signature_name", "instances", "inputs"})
    if unknown:
        raise RequestError(f"unknown field '{unknown[0]}' in request body (expected "
                           "'signature_name' and one of 'instances' or 'inputs')")
    if ("instances" in request) == ("inputs" in request):
        raise RequestError("request body must have exactly one of 'instances' (row format) or "
                           "'inputs' (columnar format)")
    row_format = "instances" in request
    return PredictRequest(request.get("signature_name"), row_format, request["instances" if row_format else "inputs"])


def decode_inputs(request: PredictRequest, signature: Signature, max_rows: int,
                  limits: RequestLimits | None = None) -> DecodedInputs:
    """The request's arrays, each checked against the signature and ``limits``."""
    columns = _rows_to_columns(request.payload, signature) if request.row_format \
        else _named_values(request.payload, signature, "'inputs'")
    arrays = {}
    for name, value in columns.items():
        where = "'instances'" if request.row_format else f"input '{name}'"
        where = where if len(columns) == 1 else f"input '{name}'"
        spec = signature.inputs[name]
        if request.row_format and not spec.batched:
            # TF Serving stacks the instances and feeds that tensor whatever the signature
            # says (half_plus_three's scalar x takes [2.0]); the graph is the judge.
            spec = dataclasses.replace(spec, shape=None)
        arrays[name] = to_array(value, spec, where, limits)
        if limits is not None:
            check_strings(arrays[name], where, limits)
    if limits is not None:
        check_sizes(arrays, signature, limits)
    return assemble_inputs(arrays, signature, max_rows, request.row_format)


def assemble_inputs(arrays: dict[str, np.ndarray], signature: Signature, max_rows: int,
                    rows_given: bool = False) -> DecodedInputs:
    """Checked arrays (every input of the signature) split into batched and unbatched ones;
    ``rows_given``: the arrays were stacked from rows (so all have the batch dimension)."""
    batched, unbatched = {}, {}
    for name, array in arrays.items():
        is_batched = signature.inputs[name].batched or (rows_given and array.ndim > 0)
        (batched if is_batched else unbatched)[name] = array
    sizes = {name: array.shape[0] for name, array in batched.items()}
    if len(set(sizes.values())) > 1:
        raise RequestError("batched inputs differ in their first dimension: "
                           + ", ".join(f"'{name}' has {size}" for name, size in sizes.items()))
    rows = next(iter(sizes.values()), 1)
    if batched and rows == 0:
        raise RequestError("no examples to predict: the batch is empty")
    if rows > max_rows:
        raise RequestError(f"batch too large: {rows} examples in one request, at most "
                           f"{max_rows} (the server's --max-batch-size); split the request")
    return DecodedInputs(batched, unbatched, rows)


def _rows_to_columns(instances, signature: Signature) -> dict[str, list]:
    if not isinstance(instances, list):
        raise RequestError(f"'instances' must be a list (one entry per example), got "
                           f"{_json_type(instances)}")
    names = list(signature.inputs)
    if len(names) == 1 and not any(_is_named(instance) for instance in instances):
        return {names[0]: instances}
    columns: dict[str, list] = {name: [] for name in names}
    for index, instance in enumerate(instances):
        for name, value in _named_values(instance, signature, f"instance {index}").items():
            columns[name].append(value)
    return columns


def _named_values(value, signature: Signature, where: str) -> dict:
    names = list(signature.inputs)
    if not _is_named(value):
        if len(names) == 1:
            return {names[0]: value}
        raise RequestError(f"{where} must be an object with the inputs {_quoted(names)}, got "
                           f"{_json_type(value)}")
    unknown = [key for key in value if key not in signature.inputs]
    if unknown:
        raise RequestError(f"{where}: unknown input '{unknown[0]}' (this signature takes "
                           f"{_quoted(names)})")
    missing = [name for name in names if name not in value]
    if missing:
        raise RequestError(f"{where}: missing input '{missing[0]}'")
    return value


def to_array(value, spec: TensorInfo, where: str,
             limits: RequestLimits | None = None) -> np.ndarray:
    """A JSON value as an array of the spec's dtype and shape, or a RequestError saying why not
    (also when its shape is over ``limits``)."""
    shape, leaves = _shape_and_leaves(value, _rank_to_parse(value, spec), where)
    if limits is not None:
        check_elements(shape, where, limits)
    check_shape(shape, spec, where)
    convert = _leaf_converter(spec, where)
    return np.array([convert(leaf) for leaf in leaves], dtype=numpy_dtype(spec)).reshape(shape)


def check_shape(shape, spec: TensorInfo, where: str) -> None:
    """``shape`` fits the spec: known sizes equal; a lower rank only when the dimensions left
    out all have size 1 (see ``_rank_to_parse``)."""
    if spec.shape is None:
        return
    shape = tuple(shape)
    if len(shape) > len(spec.shape) or (len(shape) < len(spec.shape) and any(
            size != 1 for size in spec.shape[len(shape):])):
        raise RequestError(f"{where}: expected a value of rank {len(spec.shape)} (shape "
                           f"{_shape_text(spec.shape)}), got shape {_shape_text(shape)}")
    for axis, (expected, got) in enumerate(zip(spec.shape, shape)):
        if expected is not None and expected != got:
            raise RequestError(f"{where}: dimension {axis} must be {expected}, got {got} "
                               f"(expected shape {_shape_text(spec.shape)})")


def _rank_to_parse(value, spec: TensorInfo) -> int:
    """The spec's rank; but TF Serving feeds a tensor as the JSON gives it, and models rely on
    leaving out trailing size-1 dimensions (its half_plus_two takes [2.0, 3.0] for an input of
    shape [-1, 1]), so a value that lacks only such dimensions is fed at its own rank."""
    if spec.shape is None:
        return _json_rank(value)
    given = _json_rank(value)
    if given < len(spec.shape) and all(size == 1 for size in spec.shape[given:]):
        return given
    return len(spec.shape)


def _shape_and_leaves(value, rank: int, where: str) -> tuple[list[int], list]:
    level, shape = [value], []
    for depth in range(rank):
        sizes = set()
        next_level: list = []
        for item in level:
            if not isinstance(item, list):
                raise RequestError(f"{where}: expected a value of rank {rank} (lists nested "
                                   f"{rank} deep), found {_json_type(item)} at depth {depth}")
            sizes.add(len(item))
            next_level.extend(item)
        if len(sizes) > 1:
            raise RequestError(f"{where}: ragged lists at depth {depth} (lengths "
                               f"{sorted(sizes)}); every list at one depth needs the same length")
        shape.append(sizes.pop() if sizes else 0)
        level = next_level
    if any(isinstance(leaf, list) for leaf in level):
        raise RequestError(f"{where}: expected a value of rank {rank} (lists nested {rank} "
                           "deep), found lists nested deeper")
    return shape, level


def _json_rank(value) -> int:
    rank = 0
    while isinstance(value, list) and value:
        value, rank = value[0], rank + 1
    return rank + isinstance(value, list)


def _leaf_converter(spec: TensorInfo, where: str):
    dtype = spec.dtype

    def fail(leaf, expected: str):
        raise RequestError(f"{where}: expected {expected} for input '{spec.name}' "
                           f"({dtype.name}), got {_json_type(leaf)}")

    if dtype.name == "string":
        def convert(leaf):
            if isinstance(leaf, str):
                # Lone surrogates survive as bytes; the graph replaces invalid UTF-8.
                return leaf.encode("utf-8", "surrogatepass")
            if is_b64(leaf):
                try:
                    return base64.b64decode(leaf["b64"], validate=True)
                except (binascii.Error, ValueError):
                    raise RequestError(f"{where}: invalid base64 in a {{\"b64\": ...}} value") \
                        from None
            return fail(leaf, "strings")
    elif dtype.is_bool:
        def convert(leaf):
            return leaf if isinstance(leaf, bool) else fail(leaf, "true or false")
    elif dtype.is_integer:
        smallest, largest = int(dtype.min), int(dtype.max)

        def convert(leaf):
            if not isinstance(leaf, int) or isinstance(leaf, bool):
                return fail(leaf, "integers")
            if not smallest <= leaf <= largest:
                raise RequestError(f"{where}: {str(leaf)[:20]} is out of range for input "
                                   f"'{spec.name}' ({dtype.name}: {smallest}..{largest})")
            return leaf
    elif dtype.is_floating:
        largest = float(dtype.max)

        def convert(leaf):
            if not isinstance(leaf, (int, float)) or isinstance(leaf, bool):
                return fail(leaf, "numbers")
            if (isinstance(leaf, int) or math.isfinite(leaf)) and abs(leaf) > largest:
                raise RequestError(f"{where}: {str(leaf)[:20]} is out of range for input "
                                   f"'{spec.name}' ({dtype.name}: at most {largest:.6g})")
            return float(leaf)
    else:
        raise RequestError(f"input '{spec.name}' has dtype {dtype.name}, which the REST API "
                           "of this server does not accept")
    return convert


def encode_outputs(outputs: dict[str, np.ndarray], row_format: bool) -> dict:
    """``{"predictions": [...]}`` (one entry per example) or ``{"outputs": ...}``."""
    values = {name: to_json(name, array) for name, array in outputs.items()}
    if not row_format:
        return {"outputs": next(iter(values.values())) if len(values) == 1 else values}
    if len(values) == 1:
        return {"predictions": next(iter(values.values()))}
    rows = len(next(iter(values.values())))
    return {"predictions": [{name: value[i] for name, value in values.items()}
                            for i in range(rows)]}


def to_json(name: str, array: np.ndarray):
    """Strings decoded as UTF-8; outputs named ``*_bytes`` as ``{"b64": ...}`` (TF Serving's
    convention); numbers as JSON numbers."""
    if array.dtype != object:
        return array.tolist()
    if name.endswith("_bytes"):
        flat = [{"b64": base64.b64encode(value).decode("ascii")} for value in array.ravel()]
    else:
        flat = [value.decode("utf-8", "replace") for value in array.ravel()]
    if array.ndim == 0:
        return flat[0]
    container = np.empty(len(flat), dtype=object)
    container[:] = flat
    return container.reshape(array.shape).tolist()


def is_b64(value) -> bool:
    return isinstance(value, dict) and len(value) == 1 and isinstance(value.get("b64"), str)


def _is_named(value) -> bool:
    return isinstance(value, dict) and not is_b64(value)


def _json_type(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return {dict: "an object", list: "a list", str: "a string", int: "an integer",
            float: "a number"}.get(type(value), type(value).__name__)


def _shape_text(shape) -> str:
    return "unknown" if shape is None else "[" + ", ".join(
        "?" if dim is None else str(dim) for dim in shape) + "]"


def _quoted(names: list[str]) -> str:
    return ", ".join(f"'{name}'" for name in names)
