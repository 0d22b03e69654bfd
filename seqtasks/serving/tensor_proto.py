"""TensorProto <-> numpy on the gRPC request path, without TensorFlow's general converters.

``tf.make_ndarray`` and ``tf.make_tensor_proto`` handle every dtype and layout in Python, and
were 60 % of a one-sentence Predict call's Python time (cProfile of the server under load). The
common cases are converted here directly, to the very bytes TensorFlow's functions give: numbers
in ``tensor_content`` (two elements or more), float32 / float64 / int32 / int64 arrays of fewer
than two elements in their ``*_val`` field, strings with one ``string_val`` per element. Every
other case (other ``*_val`` fields, a value broadcast over the shape, bool, complex, half, str
objects) goes to TensorFlow's.
"""

from __future__ import annotations

import math

import numpy as np
from tensorflow.core.framework import types_pb2

# numpy dtypes TensorFlow writes to tensor_content (tensor_util._TENSOR_CONTENT_TYPES, the
# quantized ones aside)
_CONTENT_DTYPES = {
    np.dtype(np.float32): types_pb2.DT_FLOAT, np.dtype(np.float64): types_pb2.DT_DOUBLE,
    np.dtype(np.int32): types_pb2.DT_INT32, np.dtype(np.int64): types_pb2.DT_INT64,
    np.dtype(np.int16): types_pb2.DT_INT16, np.dtype(np.int8): types_pb2.DT_INT8,
    np.dtype(np.uint8): types_pb2.DT_UINT8, np.dtype(np.uint16): types_pb2.DT_UINT16,
    np.dtype(np.uint32): types_pb2.DT_UINT32, np.dtype(np.uint64): types_pb2.DT_UINT64,
}
_NUMPY_OF = {enum: dtype for dtype, enum in _CONTENT_DTYPES.items()}
# TensorProto dtype enum -> the repeated field holding its values (when not in tensor_content)
VALUE_FIELDS = {
    1: "float_val", 2: "double_val", 3: "int_val", 4: "int_val", 5: "int_val", 6: "int_val",
    7: "string_val", 8: "scomplex_val", 9: "int64_val", 10: "bool_val", 17: "int_val",
    18: "dcomplex_val", 19: "half_val", 14: "half_val", 22: "uint32_val", 23: "uint64_val",
}
# Where TensorFlow writes an array of fewer than two elements (scalars, one-row outputs such as a
# tagger's lengths, empty outputs): the typed value field, one Python number per element.
_SMALL_DTYPES = tuple(np.dtype(t) for t in (np.float32, np.float64, np.int32, np.int64))
_SMALL_FIELDS = {dtype: VALUE_FIELDS[_CONTENT_DTYPES[dtype]] for dtype in _SMALL_DTYPES}
_FIELD_OF = {_CONTENT_DTYPES[dtype]: (dtype, field) for dtype, field in _SMALL_FIELDS.items()}


def to_array(proto) -> np.ndarray:
    """The proto's values as an array (``tf.make_ndarray``'s result); call it after the proto's
    shape and value count were checked (limits.check_tensor_proto)."""
    shape = [dim.size for dim in proto.tensor_shape.dim]
    dtype = _NUMPY_OF.get(proto.dtype)
    if dtype is not None and proto.tensor_content:
        return np.frombuffer(proto.tensor_content, dtype=dtype).copy().reshape(shape)
    if proto.dtype == types_pb2.DT_STRING and len(proto.string_val) == math.prod(shape):
        return np.array(list(proto.string_val), dtype=object).reshape(shape)
    if proto.dtype in _FIELD_OF:  # (with tensor_content it was read above)
        dtype, field = _FIELD_OF[proto.dtype]
        values = getattr(proto, field)
        if len(values) == math.prod(shape):
            return np.array(values, dtype=dtype).reshape(shape)
    import tensorflow as tf

    return tf.make_ndarray(proto)


def fill(proto, array: np.ndarray) -> None:
    """Write ``array`` into the empty TensorProto ``proto`` (``tf.make_tensor_proto``'s
    result), in place: no copy of the message afterwards."""
    array = np.asarray(array)
    enum = _CONTENT_DTYPES.get(array.dtype)
    if enum is not None and 1 < array.size and array.nbytes < 2**31:  # TF: *_val below 2
        proto.dtype = enum
        _set_shape(proto, array.shape)
        proto.tensor_content = np.ascontiguousarray(array).tobytes()
        return
    if array.dtype in _SMALL_FIELDS and array.size < 2:
        proto.dtype = _CONTENT_DTYPES[array.dtype]
        _set_shape(proto, array.shape)
        getattr(proto, _SMALL_FIELDS[array.dtype]).extend(array.ravel().tolist())
        return
    if array.dtype == object and all(isinstance(value, bytes) for value in array.flat):
        proto.dtype = types_pb2.DT_STRING
        _set_shape(proto, array.shape)
        proto.string_val.extend(array.flat)
        return
    import tensorflow as tf

    proto.CopyFrom(tf.make_tensor_proto(array))


def _set_shape(proto, shape: tuple[int, ...]) -> None:
    proto.tensor_shape.SetInParent()  # present even for rank 0, as TensorFlow writes it
    for size in shape:
        proto.tensor_shape.dim.add(size=size)
