"""TF Serving's gRPC API (``tensorflow_serving.apis``): PredictionService (Predict, Classify,
Regress, GetModelMetadata) and ModelService (GetModelStatus), on grpc.aio in the same event loop
as the REST app, so both share the micro-batchers. Errors are the canonical status code with the
same message REST gives.
"""

from __future__ import annotations

import asyncio
import logging
import socket

import grpc
import numpy as np
from tensorflow_serving.apis import (classification_pb2, get_model_metadata_pb2,
                                     get_model_status_pb2, model_service_pb2_grpc, predict_pb2,
                                     prediction_service_pb2_grpc, regression_pb2)

from seqtasks.serving.codec import assemble_inputs, check_shape
from seqtasks.serving.core import ServingCore
from seqtasks.serving.errors import RequestError, ServingError
from seqtasks.serving.examples import run_examples
from seqtasks.serving.limits import RequestLimits, check_sizes, check_strings, check_tensor_proto
from seqtasks.serving.tensor_proto import fill, to_array

log = logging.getLogger("seqtasks.serving")
MAX_MESSAGE_BYTES = 64 * 2**20


def _where(spec) -> tuple[int | None, str | None]:
    """(version, label) of a ModelSpec."""
    choice = spec.WhichOneof("version_choice")
    if choice == "version":
        return spec.version.value, None
    if choice == "version_label":
        return None, spec.version_label
    return None, None


def _answer_spec(response_spec, name: str, version: int, signature_name: str = "") -> None:
    response_spec.name = name
    response_spec.version.value = version
    response_spec.signature_name = signature_name


def _to_array(name: str, proto, spec, limits: RequestLimits) -> np.ndarray:
    """The proto as an array, after its declared shape is checked against ``limits`` and the
    values it holds (nothing is allocated for a shape it only claims)."""
    import tensorflow as tf

    where = f"input '{name}'"
    if proto.dtype != spec.dtype.as_datatype_enum:
        try:
            got = tf.dtypes.as_dtype(proto.dtype).name
        except TypeError:
            got = f"dtype enum {proto.dtype}"
        raise RequestError(f"{where}: expected {spec.dtype.name}, got {got}")
    check_tensor_proto(proto, where, limits)
    check_shape([dim.size for dim in proto.tensor_shape.dim], spec, where)
    try:
        array = to_array(proto)
    except (TypeError, ValueError) as error:
        raise RequestError(f"{where}: malformed TensorProto ({error})") from None
    check_shape(array.shape, spec, where)
    check_strings(array, where, limits)
    return array


def _client_timeout(context) -> float | None:
    """Seconds left of the deadline the gRPC client set (None: it set none)."""
    remaining = context.time_remaining()
    return None if remaining is None or remaining > 10**9 else max(0.0, remaining)


def _examples(model_input) -> list[bytes]:
    """Serialized examples of an Input, each prefixed by the context (so context features are
    added to it, the example's own winning), as TF Serving does."""
    kind = model_input.WhichOneof("kind")
    if kind == "example_list":
        examples, context = model_input.example_list.examples, b""
    elif kind == "example_list_with_context":
        examples = model_input.example_list_with_context.examples
        context = model_input.example_list_with_context.context.SerializeToString()
    else:
        raise RequestError("the request's input has no examples (set example_list or "
                           "example_list_with_context)")
    if not examples:
        raise RequestError("the request's input has no examples")
    return [context + example.SerializeToString() for example in examples]


class _Services(prediction_service_pb2_grpc.PredictionServiceServicer,
                model_service_pb2_grpc.ModelServiceServicer):
    def __init__(self, core: ServingCore):
        self.core = core

    async def _guarded(self, context, call):
        try:
            return await call()
        except ServingError as error:
            await context.abort(getattr(grpc.StatusCode, error.code, grpc.StatusCode.UNKNOWN),
                                str(error))

    async def Predict(self, request, context):
        deadline = self.core.deadline(_client_timeout(context))

        async def call():
            name = request.model_spec.name
            model = self.core.model(name)
            with self.core.record(name, "predict", "grpc") as record, \
                    model.use(*_where(request.model_spec)) as loaded:
                signature = loaded.signature(request.model_spec.signature_name or None)
                record.signature = signature.name
                unknown = sorted(set(request.inputs) - set(signature.inputs))
                missing = sorted(set(signature.inputs) - set(request.inputs))
                if unknown or missing:
                    raise RequestError(f"inputs do not match signature '{signature.name}' "
                                       f"(takes {sorted(signature.inputs)}): unknown {unknown}, "
                                       f"missing {missing}")
                wanted = list(request.output_filter) or list(signature.outputs)
                bad = [key for key in wanted if key not in signature.outputs]
                if bad:
                    raise RequestError(f"output_filter: unknown output '{bad[0]}' (signature "
                                       f"'{signature.name}' has {sorted(signature.outputs)})")
                limits = self.core.config.limits
                arrays = {key: _to_array(key, proto, signature.inputs[key], limits)
                          for key, proto in request.inputs.items()}
                check_sizes(arrays, signature, limits)
                inputs = assemble_inputs(arrays, signature, self.core.config.max_batch_size)
                outputs = await self.core.run(name, loaded, signature, inputs, "example",
                                              deadline)
                return self._predict_response(name, loaded.version, signature.name,
                                              {key: outputs[key] for key in wanted})
        return await self._guarded(context, call)

    @staticmethod
    def _predict_response(name, version, signature_name, outputs):
        response = predict_pb2.PredictResponse()
        _answer_spec(response.model_spec, name, version, signature_name)
        for key, array in outputs.items():
            fill(response.outputs[key], array)
        return response

    async def _examples_call(self, request, context, api: str):
        deadline = self.core.deadline(_client_timeout(context))

        async def call():
            name = request.model_spec.name
            model = self.core.model(name)
            with self.core.record(name, api, "grpc") as record, \
                    model.use(*_where(request.model_spec)) as loaded:
                results = await run_examples(self.core, name, loaded, record, api,
                                             request.model_spec.signature_name or None,
                                             _examples(request.input), deadline)
                if api == "classify":
                    response = classification_pb2.ClassificationResponse()
                    for row in results:
                        classifications = response.result.classifications.add()
                        for label, score in row:
                            classifications.classes.add(label=label, score=score)
                else:
                    response = regression_pb2.RegressionResponse()
                    for value in results:
                        response.result.regressions.add(value=value)
                _answer_spec(response.model_spec, name, loaded.version, record.signature)
                return response
        return await self._guarded(context, call)

    async def Classify(self, request, context):
        return await self._examples_call(request, context, "classify")

    async def Regress(self, request, context):
        return await self._examples_call(request, context, "regress")

    async def GetModelMetadata(self, request, context):
        async def call():
            model = self.core.model(request.model_spec.name)
            fields = list(request.metadata_field)
            if fields != ["signature_def"]:
                raise RequestError(f"metadata_field must be ['signature_def'] (the only "
                                   f"metadata TF Serving serves), got {fields}")
            loaded = model.resolve(*_where(request.model_spec))
            response = get_model_metadata_pb2.GetModelMetadataResponse()
            _answer_spec(response.model_spec, model.name, loaded.version)
            response.metadata["signature_def"].Pack(loaded.signature_def_map())
            return response
        return await self._guarded(context, call)

    async def GetModelStatus(self, request, context):
        from google.protobuf import json_format

        async def call():
            model = self.core.model(request.model_spec.name)
            return json_format.ParseDict(model.status(*_where(request.model_spec)),
                                         get_model_status_pb2.GetModelStatusResponse())
        return await self._guarded(context, call)

    async def HandleReloadConfigRequest(self, request, context):
        await context.abort(grpc.StatusCode.UNIMPLEMENTED,
                            "HandleReloadConfigRequest is not supported: edit the model "
                            "directories (versions are polled) or restart with a new config")

    async def MultiInference(self, request, context):
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, "MultiInference is not supported")


class GrpcServers:
    """The gRPC servers of one port (ServerConfig.grpc_listeners), started and stopped as one."""

    def __init__(self, servers: list[grpc.aio.Server], port: int):
        self.servers, self.port = servers, port

    async def stop(self, grace: float | None) -> None:
        await asyncio.gather(*(server.stop(grace) for server in self.servers))


def check_port_free(host: str, port: int) -> None:
    """OSError if another socket holds ``host:port``: the listeners share it with SO_REUSEPORT,
    which would also let them join a port some other process listens on."""
    address = host.strip("[]")
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gRPC binds
        try:
            probe.bind((address, port))
        except OSError as error:
            raise OSError(f"cannot bind the gRPC port {host}:{port} ({error.strerror})") from None


async def start_grpc(core: ServingCore, host: str, port: int) -> GrpcServers:
    """``core.config.grpc_listeners`` servers of the gRPC services on ``host:port`` (0: a free
    port, the same for all of them)."""
    listeners = max(1, core.config.grpc_listeners)
    shared = core.config.reuse_port or listeners > 1
    if port and not core.config.reuse_port:  # (worker processes hold it together)
        check_port_free(host, port)
    # the REST body limit (--max-body-mb) holds for gRPC messages too
    options = [("grpc.max_receive_message_length", core.config.max_body_bytes),
               ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
               # gRPC shares ports by default on Linux: only this server's own listeners and
               # worker processes may
               ("grpc.so_reuseport", int(shared))]
    services = _Services(core)
    servers: list[grpc.aio.Server] = []
    try:
        for _ in range(listeners):
            server = grpc.aio.server(options=options)
            prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(services, server)
            model_service_pb2_grpc.add_ModelServiceServicer_to_server(services, server)
            try:
                bound = server.add_insecure_port(f"{host}:{port}")
            except RuntimeError:  # grpcio's "Failed to bind", the reason only in its log
                bound = 0
            if bound == 0:
                raise OSError(f"cannot bind the gRPC port {host}:{port}")
            port = bound  # port 0: the others join the port the first one got
            await server.start()
            servers.append(server)
    except BaseException:
        await asyncio.gather(*(server.stop(None) for server in servers))
        raise
    log.info("gRPC (PredictionService, ModelService) on %s:%d, %d listener%s", host, port,
             listeners, "" if listeners == 1 else "s")
    return GrpcServers(servers, port)
