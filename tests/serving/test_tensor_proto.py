"""seqtasks/serving/tensor_proto.py gives exactly what tf.make_tensor_proto / tf.make_ndarray
give, on the fast paths and on the cases it hands to them."""

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.framework import tensor_pb2

from seqtasks.serving.tensor_proto import fill, to_array

ARRAYS = [
    np.array([[0.25, 0.75], [0.5, 0.5]], dtype=np.float32),
    np.array([1.5, -2.0], dtype=np.float64),
    np.arange(6, dtype=np.int32).reshape(2, 3),
    np.array([7, -8], dtype=np.int64),
    np.array([1, 2], dtype=np.uint8),
    np.array(3.0, dtype=np.float32),  # rank 0: float_val, as one element is
    np.array([0.5], dtype=np.float32),
    np.zeros((0, 4), dtype=np.float32),  # no rows
    np.array([12], dtype=np.int32),  # one row of lengths: int_val
    np.array([[-1]], dtype=np.int64),
    np.array(2.5, dtype=np.float64),
    np.zeros((1, 0), dtype=np.int32),  # no entities
    np.array([np.nan], dtype=np.float32),
    np.array([b"pos", b"neg"], dtype=object),
    np.array([[b"a", b""], [b"\xff\x00", b"b c"]], dtype=object),
    np.array([True, False]),  # bool_val: TensorFlow's converter
    np.array([1.0, 2.0], dtype=np.float16),
    np.array(["caf\u00e9", "x"], dtype=object),  # str objects: TensorFlow's converter
    np.array([[1.0, 2.0]], dtype=np.float32)[:, ::-1],  # not contiguous
]


@pytest.mark.parametrize("array", ARRAYS, ids=lambda a: f"{a.dtype}{list(a.shape)}")
def test_fill_writes_what_make_tensor_proto_writes(array):
    proto = tensor_pb2.TensorProto()
    fill(proto, array)
    assert proto.SerializeToString() == tf.make_tensor_proto(array).SerializeToString()


@pytest.mark.parametrize("array", ARRAYS, ids=lambda a: f"{a.dtype}{list(a.shape)}")
def test_to_array_reads_what_make_ndarray_reads(array):
    proto = tf.make_tensor_proto(array)
    got, expected = to_array(proto), tf.make_ndarray(proto)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    if got.dtype == object:
        assert got.tolist() == expected.tolist()
    else:
        np.testing.assert_array_equal(got, expected)  # NaN equal to NaN
    if got.size and got.dtype != object:
        got.flat[0] = got.flat[0]  # writable, as make_ndarray's copy is


def test_values_broadcast_over_the_shape_go_to_tensorflow():
    """One string_val (or float_val) for a larger shape: make_ndarray repeats it."""
    strings = tensor_pb2.TensorProto(dtype=tf.string.as_datatype_enum, string_val=[b"x"])
    strings.tensor_shape.dim.add(size=3)
    assert to_array(strings).tolist() == [b"x", b"x", b"x"]
    floats = tensor_pb2.TensorProto(dtype=tf.float32.as_datatype_enum, float_val=[2.0])
    floats.tensor_shape.dim.add(size=2)
    assert to_array(floats).tolist() == [2.0, 2.0]
