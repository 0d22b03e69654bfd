"""SavedModels like TF Serving's own test models, built here with TF's Estimator-free APIs.

``export_half_plus_two`` makes a TF1-style graph as TF Serving's ``saved_model_half_plus_two``
testdata is made (tensorflow/serving, Apache-2.0): variables a = 0.5, b = 2, c = 3 and
serialized tf.Examples parsed for the features ``x`` and ``x2`` ([1] floats; x2 defaults to 0);
``y = a*x + b``, ``y2 = a*x + c``, ``y3 = a*x2 + c``; signatures ``serving_default`` (predict,
x -> y), ``classify_x_to_y``, ``regress_x_to_y``, ``regress_x_to_y2`` (over the examples) and
``regress_x2_to_y3`` (x2 -> y3). ``export_tf2_half_plus_two`` is the same predict function as a
TF2 ``tf.Module``.
"""

from __future__ import annotations

from pathlib import Path


def export_half_plus_two(version_dir: Path) -> Path:
    import tensorflow as tf

    v1 = tf.compat.v1
    build_info = v1.saved_model.utils.build_tensor_info
    make_signature = v1.saved_model.signature_def_utils.build_signature_def
    with tf.Graph().as_default(), v1.Session() as session:
        a = tf.Variable(0.5, name="a")
        b = tf.Variable(2.0, name="b")
        c = tf.Variable(3.0, name="c")
        serialized = v1.placeholder(tf.string, shape=[None], name="tf_example")
        features = v1.io.parse_example(serialized, {
            "x": v1.io.FixedLenFeature([1], tf.float32),
            "x2": v1.io.FixedLenFeature([1], tf.float32, default_value=[0.0])})
        x = tf.identity(features["x"], name="x")
        x2 = tf.identity(features["x2"], name="x2")
        y = tf.identity(a * x + b, name="y")
        y2 = tf.identity(a * x + c, name="y2")
        y3 = tf.identity(a * x2 + c, name="y3")

        def regress(inputs, outputs):
            return make_signature({"inputs": build_info(inputs)}, {"outputs": build_info(outputs)},
                                  "tensorflow/serving/regress")

        signatures = {
            "serving_default": make_signature({"x": build_info(x)}, {"y": build_info(y)},
                                              "tensorflow/serving/predict"),
            "classify_x_to_y": make_signature({"inputs": build_info(serialized)},
                                              {"scores": build_info(y)},
                                              "tensorflow/serving/classify"),
            "regress_x_to_y": regress(serialized, y),
            "regress_x_to_y2": regress(serialized, y2),
            "regress_x2_to_y3": regress(x2, y3),
        }
        session.run(v1.global_variables_initializer())
        builder = v1.saved_model.Builder(str(version_dir))
        builder.add_meta_graph_and_variables(session, ["serve"], signature_def_map=signatures)
        builder.save()
    return version_dir


def export_half_plus_three(version_dir: Path) -> Path:
    """TF Serving's ``saved_model_half_plus_three``: ``y = 0.5 x + 3`` for a float ``x`` whose
    signature gives no shape at all (its TensorInfos carry no tensor_shape), so TF Serving feeds
    whatever tensor the request builds: ``{"instances": [2.0]}`` answers ``[4.0]``."""
    import tensorflow as tf

    v1 = tf.compat.v1
    with tf.Graph().as_default(), v1.Session() as session:
        a, c = tf.Variable(0.5, name="a"), tf.Variable(3.0, name="c")
        x = v1.placeholder(tf.float32, name="x")
        y = tf.identity(a * x + c, name="y")
        x_info, y_info = (v1.saved_model.utils.build_tensor_info(t) for t in (x, y))
        for info in (x_info, y_info):
            info.ClearField("tensor_shape")
        signature = v1.saved_model.signature_def_utils.build_signature_def(
            {"x": x_info}, {"y": y_info}, "tensorflow/serving/predict")
        session.run(v1.global_variables_initializer())
        builder = v1.saved_model.Builder(str(version_dir))
        builder.add_meta_graph_and_variables(session, ["serve"],
                                             signature_def_map={"serving_default": signature})
        builder.save()
    return version_dir


def export_tf2_half_plus_two(version_dir: Path, b: float = 2.0) -> Path:
    """``y = 0.5 x + b`` for float ``x`` of any shape (a TF2 SavedModel, predict only)."""
    import tensorflow as tf

    class HalfPlus(tf.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = tf.Variable(0.5), tf.Variable(b)

        @tf.function(input_signature=[tf.TensorSpec(None, tf.float32)])
        def __call__(self, x):
            return {"y": self.a * x + self.b}

    module = HalfPlus()
    tf.saved_model.save(module, str(version_dir), signatures={"serving_default": module.__call__})
    return version_dir
