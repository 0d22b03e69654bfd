"""TF Serving's gRPC API, called with the official client stubs of the tensorflow-serving-api
package, on the half_plus_two models (TF Serving's VerifyPredictRequest and friends)."""

import grpc
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.example import example_pb2
from tensorflow_serving.apis import (classification_pb2, get_model_metadata_pb2,
                                     get_model_status_pb2, model_service_pb2_grpc, predict_pb2,
                                     prediction_service_pb2_grpc, regression_pb2)

from seqtasks.serving.app import ServerConfig, create_app
from seqtasks.serving.manager import ModelManager
from seqtasks.serving.models import load_models

TIMEOUT_S = 30


@pytest.fixture(scope="module")
def stubs(half_plus_two, tf2_half_plus_two, serve_app, new_port):
    models = load_models([f"default={half_plus_two}", f"tf2={tf2_half_plus_two}"])
    models["default"].labels = {"stable": 123}
    grpc_port = new_port()
    app = create_app(ModelManager.of(models), ServerConfig(batch_timeout_ms=1,
                                                           max_body_bytes=64 * 1024),
                     grpc_port=grpc_port)
    with serve_app(app):  # uvicorn picks uvloop: grpc.aio runs on it
        with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
            yield (prediction_service_pb2_grpc.PredictionServiceStub(channel),
                   model_service_pb2_grpc.ModelServiceStub(channel))


def example(**features) -> example_pb2.Example:
    result = example_pb2.Example()
    for name, value in features.items():
        result.features.feature[name].float_list.value.append(value)
    return result


@pytest.mark.parametrize("spec", [{}, {"version": 123}, {"label": "stable"},
                                  {"output_filter": True}])
def test_predict(stubs, spec):
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "default"
    if "version" in spec:
        request.model_spec.version.value = spec["version"]
    if "label" in spec:
        request.model_spec.version_label = spec["label"]
    if spec.get("output_filter"):
        request.output_filter.append("y")
    request.inputs["x"].CopyFrom(tf.make_tensor_proto([2.0], shape=[1, 1], dtype=tf.float32))
    response = stubs[0].Predict(request, TIMEOUT_S)
    assert tf.make_ndarray(response.outputs["y"]).tolist() == [[3.0]]
    assert response.model_spec.name == "default" and response.model_spec.version.value == 123
    assert response.model_spec.signature_name == "serving_default"


def test_predict_a_tf2_model_and_a_batch(stubs):
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "tf2"
    request.inputs["x"].CopyFrom(tf.make_tensor_proto(np.array([2.0, 3.0, 4.0], np.float32)))
    response = stubs[0].Predict(request, TIMEOUT_S)
    assert tf.make_ndarray(response.outputs["y"]).tolist() == [3.0, 3.5, 4.0]


def test_classify_and_regress(stubs):
    request = classification_pb2.ClassificationRequest()
    request.model_spec.name = "default"
    request.model_spec.signature_name = "classify_x_to_y"
    request.input.example_list.examples.extend([example(x=2.0), example(x=4.0)])
    result = stubs[0].Classify(request, TIMEOUT_S)
    assert [[(c.label, c.score) for c in row.classes] for row in result.result.classifications] \
        == [[("", 3.0)], [("", 4.0)]]
    assert result.model_spec.signature_name == "classify_x_to_y"

    request = regression_pb2.RegressionRequest()
    request.model_spec.name = "default"
    request.model_spec.signature_name = "regress_x_to_y2"
    request.input.example_list_with_context.context.CopyFrom(example(x=2.0))
    request.input.example_list_with_context.examples.extend([example(), example(x=0.0)])
    result = stubs[0].Regress(request, TIMEOUT_S)
    assert [r.value for r in result.result.regressions] == [4.0, 3.0]


def test_model_metadata_and_status(stubs):
    request = get_model_metadata_pb2.GetModelMetadataRequest()
    request.model_spec.name = "default"
    request.metadata_field.append("signature_def")
    response = stubs[0].GetModelMetadata(request, TIMEOUT_S)
    signatures = get_model_metadata_pb2.SignatureDefMap()
    response.metadata["signature_def"].Unpack(signatures)
    assert sorted(signatures.signature_def) == ["classify_x_to_y", "regress_x2_to_y3",
                                                "regress_x_to_y", "regress_x_to_y2",
                                                "serving_default"]
    assert signatures.signature_def["serving_default"].inputs["x"].name == "x:0"
    assert response.model_spec.version.value == 123

    request = get_model_status_pb2.GetModelStatusRequest()
    request.model_spec.name = "default"
    status = stubs[1].GetModelStatus(request, TIMEOUT_S)
    assert [(s.version, s.state, s.status.error_code) for s in status.model_version_status] == \
        [(123, get_model_status_pb2.ModelVersionStatus.AVAILABLE, 0)]


@pytest.mark.parametrize("build, code, message", [
    (lambda r: setattr(r.model_spec, "name", "nope"), grpc.StatusCode.NOT_FOUND, "'nope' not found"),
    (lambda r: r.model_spec.version.__setattr__("value", 9), grpc.StatusCode.NOT_FOUND,
     "no served version 9"),
    (lambda r: r.inputs["z"].CopyFrom(tf.make_tensor_proto([1.0])), grpc.StatusCode.INVALID_ARGUMENT,
     "unknown ['z']"),
    (lambda r: r.inputs["x"].CopyFrom(tf.make_tensor_proto([1], dtype=tf.int32)),
     grpc.StatusCode.INVALID_ARGUMENT, "expected float32, got int32"),
    (lambda r: r.output_filter.append("nope"), grpc.StatusCode.INVALID_ARGUMENT,
     "output_filter: unknown output 'nope'"),
])
def test_errors_carry_the_status_code(stubs, build, code, message):
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "default"
    request.inputs["x"].CopyFrom(tf.make_tensor_proto([1.0], dtype=tf.float32))
    build(request)
    if "z" in request.inputs:
        del request.inputs["x"]
    with pytest.raises(grpc.RpcError) as raised:
        stubs[0].Predict(request, TIMEOUT_S)
    assert raised.value.code() == code and message in raised.value.details()


def test_classify_on_a_predict_signature_is_a_failed_precondition(stubs):
    request = classification_pb2.ClassificationRequest()
    request.model_spec.name = "default"
    request.input.example_list.examples.append(example(x=1.0))
    with pytest.raises(grpc.RpcError) as raised:
        stubs[0].Classify(request, TIMEOUT_S)
    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_messages_over_the_body_limit_are_refused(stubs):
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "tf2"
    request.inputs["x"].CopyFrom(tf.make_tensor_proto(np.zeros(20_000, np.float32)))
    with pytest.raises(grpc.RpcError) as raised:
        stubs[0].Predict(request, TIMEOUT_S)
    assert raised.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_several_listeners_share_the_port_and_each_connection_is_answered(half_plus_two,
                                                                          serve_app, new_port):
    import asyncio

    from seqtasks.serving.core import ServingCore
    from seqtasks.serving.grpc_service import start_grpc

    models = load_models([f"default={half_plus_two}"])
    core = ServingCore(ModelManager.of(models), ServerConfig(grpc_listeners=3))

    async def bound_ports():
        servers = await start_grpc(core, "127.0.0.1", 0)
        try:
            return len(servers.servers), servers.port
        finally:
            await servers.stop(None)
    count, port = asyncio.run(bound_ports())
    assert count == 3 and port > 0  # port 0: the listeners joined the port the first one got

    grpc_port = new_port()
    app = create_app(ModelManager.of(models), ServerConfig(grpc_listeners=3, batch_timeout_ms=1),
                     grpc_port=grpc_port)
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "default"
    request.inputs["x"].CopyFrom(tf.make_tensor_proto([2.0], shape=[1, 1], dtype=tf.float32))
    with serve_app(app):
        for _ in range(12):  # a connection of its own each: the kernel spreads them
            with grpc.insecure_channel(f"127.0.0.1:{grpc_port}",
                                       options=[("grpc.use_local_subchannel_pool", 1)]) as channel:
                response = prediction_service_pb2_grpc.PredictionServiceStub(channel).Predict(
                    request, TIMEOUT_S)
                assert tf.make_ndarray(response.outputs["y"]).tolist() == [[3.0]]


@pytest.mark.parametrize("listeners", [1, 4])
@pytest.mark.parametrize("holder_shares", [False, True])
def test_a_grpc_port_another_socket_holds_is_refused(half_plus_two, port, listeners,
                                                     holder_shares):
    """Several listeners bind with SO_REUSEPORT: they must still not join a port that another
    process listens on, even one that itself allows sharing."""
    import asyncio
    import socket

    from seqtasks.serving.core import ServingCore
    from seqtasks.serving.grpc_service import start_grpc

    core = ServingCore(ModelManager.of(load_models([f"default={half_plus_two}"])),
                       ServerConfig(grpc_listeners=listeners))
    with socket.socket() as holder:
        if holder_shares:
            holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        holder.bind(("127.0.0.1", port))
        holder.listen()
        with pytest.raises(OSError, match=f"cannot bind the gRPC port 127.0.0.1:{port}"):
            asyncio.run(start_grpc(core, "127.0.0.1", port))
