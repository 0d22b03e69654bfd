"""What one request may ask of the server, checked before any memory or time is spent on it.

A request's body is bounded by ``--max-body-mb`` (REST and gRPC) and its examples by
``--max-batch-size``; here are the sizes a request *claims* inside that body:

- a gRPC TensorProto's declared shape: at most ``max_tensor_elements`` elements, and exactly as
  many values as it declares (or one value, or none, which TensorFlow repeats to fill the
  shape), checked on the proto before ``tf.make_ndarray`` allocates anything;
- a REST value's shape: at most ``max_tensor_elements`` elements;
- every string (text, image bytes): at most ``max_string_bytes`` bytes;
- the integer inputs that size the work of a decoding signature, whatever the model:
  ``num_samples``, ``max_length`` and ``beam_size`` (``SIZE_INPUTS``).

Each failure is a ``RequestError`` (HTTP 400, gRPC INVALID_ARGUMENT) that names the limit and the
``seqtasks serve`` flag that raises it.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from seqtasks.serving.errors import RequestError
from seqtasks.serving.tensor_proto import VALUE_FIELDS


@dataclasses.dataclass(frozen=True)
class RequestLimits:
    """Defaults fit a 2-core machine with 24 GiB: the largest request they allow needs a few
    GiB at most (e.g. 128 prompts x 64 samples of a 10k-word language model: 8,192 rows of
    logits, about 330 MB a step)."""

    max_tensor_elements: int = 4 * 2**20  # a 16 MiB body of float32 holds as many
    max_string_bytes: int = 2**20
    max_num_samples: int = 64
    max_decode_length: int = 1024
    max_beam_size: int = 16


# input name -> (the RequestLimits field that bounds it, its serve flag)
SIZE_INPUTS = {
    "num_samples": ("max_num_samples", "--max-num-samples"),
    "max_length": ("max_decode_length", "--max-decode-length"),
    "beam_size": ("max_beam_size", "--max-beam-size"),
}

def check_elements(shape, where: str, limits: RequestLimits) -> None:
    """A (declared) shape holds at most ``max_tensor_elements`` elements."""
    elements = math.prod(int(size) for size in shape)
    if elements > limits.max_tensor_elements:
        raise RequestError(f"{where}: shape {list(shape)} holds {elements} elements, over the "
                           f"server's limit of {limits.max_tensor_elements} "
                           "(--max-tensor-elements); split the request")


def check_tensor_proto(proto, where: str, limits: RequestLimits) -> None:
    """The proto's declared shape against the limits and against the values it really holds,
    before anything is allocated for it."""
    import tensorflow as tf

    if proto.tensor_shape.unknown_rank:
        raise RequestError(f"{where}: the TensorProto has no shape (unknown_rank); set "
                           "tensor_shape")
    shape = [dim.size for dim in proto.tensor_shape.dim]
    if any(size < 0 for size in shape):
        raise RequestError(f"{where}: the TensorProto's shape {shape} has a negative size")
    check_elements(shape, where, limits)
    elements = math.prod(shape)
    if proto.tensor_content:
        if proto.dtype == 7:  # DT_STRING
            raise RequestError(f"{where}: a string tensor must hold its values in string_val, "
                               "not tensor_content")
        itemsize = tf.dtypes.as_dtype(proto.dtype).size
        if len(proto.tensor_content) != elements * itemsize:
            raise RequestError(f"{where}: tensor_content holds {len(proto.tensor_content)} "
                               f"bytes, but shape {shape} needs {elements * itemsize}")
        return
    field = VALUE_FIELDS.get(proto.dtype)
    if field is None:
        return  # a dtype the signature check refuses; nothing is allocated for it here
    values = len(getattr(proto, field))
    if field in ("scomplex_val", "dcomplex_val"):
        values //= 2
    if values not in (0, 1, elements):
        raise RequestError(f"{where}: the TensorProto declares shape {shape} ({elements} "
                           f"elements) but holds {values} values in {field}; send one value "
                           "per element")
    if field == "string_val":
        longest = max((len(value) for value in proto.string_val), default=0)
        _check_string_length(longest, where, limits)


def check_strings(array: np.ndarray, where: str, limits: RequestLimits) -> None:
    """Every string of a decoded (object) array is at most ``max_string_bytes`` long."""
    if array.dtype != object or array.size == 0:
        return
    _check_string_length(max(len(value) for value in array.ravel()), where, limits)


def _check_string_length(length: int, where: str, limits: RequestLimits) -> None:
    if length > limits.max_string_bytes:
        raise RequestError(f"{where}: a string of {length} bytes is over the server's limit of "
                           f"{limits.max_string_bytes} (--max-string-bytes)")


def check_sizes(arrays: dict[str, np.ndarray], signature, limits: RequestLimits) -> None:
    """The inputs that size a decoding loop (``SIZE_INPUTS``) are within the server's limits:
    checked by name, so any model that takes them is bounded alike."""
    for name, (field, flag) in SIZE_INPUTS.items():
        spec = signature.inputs.get(name)
        array = arrays.get(name)
        if spec is None or array is None or not spec.dtype.is_integer or array.size == 0:
            continue
        largest, limit = int(np.max(array)), getattr(limits, field)
        if largest > limit:
            raise RequestError(f"input '{name}' is {largest}, over the server's limit of {limit} "
                               f"({flag}); ask for at most {limit}, or start the server with a "
                               f"higher {flag}")
