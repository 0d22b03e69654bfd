"""The ASGI app (Starlette): TF Serving's REST API over loaded exports.

    GET  /v1/models/{name}[/versions/{v}]                  model version status
    GET  /v1/models/{name}[/versions/{v}]/metadata         signature defs (+ seqtasks.json)
    POST /v1/models/{name}[/versions/{v}]:predict          {"instances": ...} or {"inputs": ...}

Every error is JSON ``{"error": "..."}``: 400 for a request the model cannot run, 404 for an
unknown model or version, 413 for a body over the size limit, 500 (logged) for a server fault.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
from concurrent.futures import ThreadPoolExecutor

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from seqtasks.serving.batcher import MicroBatcher
from seqtasks.serving.codec import decode_inputs, encode_outputs, parse_predict_body
from seqtasks.serving.errors import BodyTooLarge, NotFound, RejectedInstance, RequestError
from seqtasks.serving.models import ServedModel

log = logging.getLogger("seqtasks.serving")


@dataclasses.dataclass
class ServerConfig:
    max_batch_size: int = 128       # examples per model call, and per request
    batch_timeout_ms: float = 2.0   # how long a batch waits for company after its first request
    max_body_bytes: int = 16 * 2**20
    inference_threads: int = max(1, min(4, os.cpu_count() or 1))  # model calls at once


class TFServingJSONResponse(JSONResponse):
    """JSON like TF Serving writes it: NaN and Infinity allowed (Starlette's default refuses)."""

    def render(self, content) -> bytes:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _error(status: int, message: str) -> TFServingJSONResponse:
    return TFServingJSONResponse({"error": message}, status_code=status)


def _op_error_text(error) -> str:
    """The op's own message from a TF error (not 'Graph execution error:' or node names)."""
    lines = [line.strip() for line in error.message.splitlines()]
    useful = [line for line in lines if line and not line.startswith(("[[", "<stack traces"))
              and not line.startswith(("Graph execution error", "Detected at node"))]
    return useful[-1] if useful else type(error).__name__


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(f"request body of {declared} bytes is over the limit of {limit}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(f"request body is over the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


class ModelServer:
    """Routes requests to models; owns the micro-batchers and the inference threads."""

    def __init__(self, models: dict[str, ServedModel], config: ServerConfig):
        self.models, self.config = models, config
        self.executor: ThreadPoolExecutor | None = None
        self.batchers: dict[tuple, MicroBatcher] = {}

    def model(self, request: Request) -> ServedModel:
        name = request.path_params["name"]
        if name not in self.models:
            raise NotFound(f"model '{name}' not found; this server has: "
                           f"{', '.join(sorted(self.models))}")
        return self.models[name]

    async def status(self, request: Request):
        if ":" in request.path_params["name"]:  # GET .../NAME:predict: the verbs are POST only
            raise HTTPException(405, "Method Not Allowed")
        model = self.model(request)
        return TFServingJSONResponse(model.status(request.path_params.get("version")))

    async def metadata(self, request: Request):
        model = self.model(request)
        return TFServingJSONResponse(model.metadata(request.path_params.get("version")))

    async def predict(self, request: Request):
        import tensorflow as tf

        verb = request.path_params["verb"]
        model = self.model(request)
        if verb in ("classify", "regress"):
            raise RequestError(f"':{verb}' is not supported: seqtasks exports have predict "
                               "signatures; use ':predict'")
        if verb != "predict":
            raise NotFound(f"unknown method ':{verb}' (use ':predict')")
        loaded = model.version(request.path_params.get("version"))
        parsed = parse_predict_body(await _read_body(request, self.config.max_body_bytes))
        signature = loaded.signature(parsed.signature_name)
        inputs = decode_inputs(parsed, signature, self.config.max_batch_size)
        key = (model.name, loaded.version, signature.name)
        if key not in self.batchers:
            self.batchers[key] = MicroBatcher(signature, self.executor, self.config.max_batch_size,
                                              self.config.batch_timeout_ms / 1000.0)
        try:
            outputs = await self.batchers[key].predict(inputs)
        except RejectedInstance as rejected:
            where = "instance" if parsed.row_format else "example (row of the inputs)"
            raise RequestError(f"the model rejected {where} {rejected.index} (counting from 0): "
                               f"{_op_error_text(rejected.error)}") from None
        except tf.errors.InvalidArgumentError as error:
            raise RequestError(f"the model rejected the input: {_op_error_text(error)}") from None
        return TFServingJSONResponse(encode_outputs(outputs, parsed.row_format))

    @contextlib.asynccontextmanager
    async def lifespan(self, app):
        self.executor = ThreadPoolExecutor(self.config.inference_threads,
                                           thread_name_prefix="inference")
        try:
            yield
        finally:
            for batcher in self.batchers.values():
                await batcher.close()
            self.executor.shutdown(wait=True)


async def _client_error(request: Request, error: RequestError | NotFound | BodyTooLarge):
    return _error(error.status, str(error))


async def _http_error(request: Request, error: HTTPException):
    if error.status_code == 404:
        return _error(404, f"no such endpoint: {request.method} {request.url.path} (expected "
                           "/v1/models/NAME[/versions/N][/metadata|:predict])")
    return _error(error.status_code, f"{error.detail}: {request.method} {request.url.path}")


async def _server_error(request: Request, error: Exception):
    # Starlette logs the traceback after this response is sent.
    return _error(500, f"internal server error ({type(error).__name__}); see the server log")


def create_app(models: dict[str, ServedModel], config: ServerConfig = ServerConfig()) -> Starlette:
    server = ModelServer(models, config)
    base, version = "/v1/models/{name}", "/v1/models/{name}/versions/{version:int}"
    routes = [
        Route(base, server.status, methods=["GET"]),
        Route(version, server.status, methods=["GET"]),
        Route(base + "/metadata", server.metadata, methods=["GET"]),
        Route(version + "/metadata", server.metadata, methods=["GET"]),
        Route(base + ":{verb}", server.predict, methods=["POST"]),
        Route(version + ":{verb}", server.predict, methods=["POST"]),
    ]
    handlers = {RequestError: _client_error, NotFound: _client_error, BodyTooLarge: _client_error,
                HTTPException: _http_error, 500: _server_error}
    app = Starlette(routes=routes, exception_handlers=handlers, lifespan=server.lifespan)
    app.router.redirect_slashes = False  # ".../sentiment/" is a JSON 404, as in TF Serving
    app.state.server = server
    return app
