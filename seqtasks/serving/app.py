"""The ASGI app (Starlette): TF Serving's REST API, its Prometheus endpoint, and the demo page.

    GET  /v1/models/NAME[/versions/N | /labels/L]              model version status
    GET  /v1/models/NAME[/versions/N | /labels/L]/metadata     SignatureDefs (+ seqtasks.json)
    POST /v1/models/NAME[/versions/N | /labels/L]:predict      {"instances": ...} / {"inputs": ...}
    POST /v1/models/NAME[/versions/N | /labels/L]:classify     {"examples": [...], "context": ...}
    POST /v1/models/NAME[/versions/N | /labels/L]:regress      the same, answering {"results": ...}
    GET  /monitoring/prometheus/metrics                        Prometheus text format
    GET  /                                                     the demo page (only with demo=True)

Every error is JSON ``{"error": "..."}`` with the HTTP status TF Serving gives its status code
(400 for a request the model cannot run, 404 for an unknown model or version, ...), 413 for a
body over the size limit, 500 (logged) for a server fault.
"""

from __future__ import annotations

import contextlib
import json
import logging
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from seqtasks.serving.codec import decode_inputs, encode_outputs, parse_predict_body
from seqtasks.serving.core import ServerConfig, ServingCore
from seqtasks.serving.errors import BodyTooLarge, NotFound, ServingError
from seqtasks.serving.examples import parse_examples_body, run_examples
from seqtasks.serving.manager import ModelManager
from seqtasks.serving.models import ServedModel

__all__ = ["ServerConfig", "create_app"]
log = logging.getLogger("seqtasks.serving")
DEMO_PAGE = Path(__file__).parent / "demo" / "index.html"
VERBS = ("predict", "classify", "regress")


class TFServingJSONResponse(JSONResponse):
    """JSON like TF Serving writes it: NaN and Infinity allowed (Starlette's default refuses)."""

    def render(self, content) -> bytes:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _error(status: int, message: str) -> TFServingJSONResponse:
    return TFServingJSONResponse({"error": message}, status_code=status)


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


class RestAPI:
    """The route handlers over a ``ServingCore``."""

    def __init__(self, core: ServingCore):
        self.core = core

    @staticmethod
    def _where(request: Request) -> tuple[int | None, str | None]:
        return request.path_params.get("version"), request.path_params.get("label")

    async def status(self, request: Request):
        if ":" in request.path_params["name"]:  # GET .../NAME:predict: the verbs are POST only
            raise HTTPException(405, "Method Not Allowed")
        model = self.core.model(request.path_params["name"])
        return TFServingJSONResponse(model.status(*self._where(request)))

    async def metadata(self, request: Request):
        model = self.core.model(request.path_params["name"])
        return TFServingJSONResponse(model.metadata(*self._where(request)))

    async def call(self, request: Request):
        name, verb = request.path_params["name"], request.path_params["verb"]
        if verb not in VERBS:
            raise NotFound(f"unknown method ':{verb}' (use ':predict', ':classify' or "
                           "':regress')")
        model: ServedModel = self.core.model(name)
        deadline = self.core.deadline()
        body = await _read_body(request, self.core.config.max_body_bytes)
        with self.core.record(name, verb, "rest") as record, \
                model.use(*self._where(request)) as loaded:
            if verb == "predict":
                parsed = parse_predict_body(body)
                signature = loaded.signature(parsed.signature_name)
                record.signature = signature.name
                inputs = decode_inputs(parsed, signature, self.core.config.max_batch_size,
                                       self.core.config.limits)
                unit = "instance" if parsed.row_format else "example (row of the inputs)"
                outputs = await self.core.run(name, loaded, signature, inputs, unit, deadline)
                return TFServingJSONResponse(encode_outputs(outputs, parsed.row_format))
            parsed = parse_examples_body(body)
            results = await run_examples(self.core, name, loaded, record, verb,
                                         parsed.signature_name, parsed.examples, deadline)
            if verb == "classify":
                results = [[list(pair) for pair in row] for row in results]
            return TFServingJSONResponse({"results": results})

    async def prometheus(self, request: Request):
        return Response(self.core.metrics.text(),
                        media_type="text/plain; version=0.0.4; charset=utf-8")

    async def demo(self, request: Request):
        """The page, with the served model names written in (TF Serving has no list call)."""
        names = json.dumps(sorted(self.core.models)).replace("<", "\\u003c")
        page = DEMO_PAGE.read_text(encoding="utf-8").replace("/*MODELS*/[]", names)
        return HTMLResponse(page, headers={"Content-Security-Policy": "default-src 'self'; "
                                           "script-src 'unsafe-inline'; style-src "
                                           "'unsafe-inline'; img-src 'self' data:"})


async def _client_error(request: Request, error: ServingError):
    return _error(error.status, str(error))


async def _http_error(request: Request, error: HTTPException):
    if error.status_code == 404:
        return _error(404, f"no such endpoint: {request.method} {request.url.path} (expected "
                           "/v1/models/NAME[/versions/N|/labels/L][/metadata|:predict|:classify|"
                           ":regress])")
    return _error(error.status_code, f"{error.detail}: {request.method} {request.url.path}")


async def _server_error(request: Request, error: Exception):
    # Starlette logs the traceback after this response is sent.
    return _error(500, f"internal server error ({type(error).__name__}); see the server log")


def create_app(models: dict[str, ServedModel] | ModelManager,
               config: ServerConfig = ServerConfig(), grpc_port: int | None = None,
               grpc_host: str = "127.0.0.1", demo: bool = False,
               prometheus_path: str | None = "/monitoring/prometheus/metrics") -> Starlette:
    """The app over ``models`` (or a manager, which then polls its base paths while the app
    runs); with ``grpc_port``, TF Serving's gRPC services run on the same event loop. The
    metrics are served at ``prometheus_path`` (None: not at all)."""
    manager = models if isinstance(models, ModelManager) else ModelManager.of(models)
    core = ServingCore(manager, config)
    api = RestAPI(core)
    routes = []
    for prefix in ("/v1/models/{name}", "/v1/models/{name}/versions/{version:int}",
                   "/v1/models/{name}/labels/{label}"):
        routes += [Route(prefix, api.status, methods=["GET"]),
                   Route(prefix + "/metadata", api.metadata, methods=["GET"]),
                   Route(prefix + ":{verb}", api.call, methods=["POST"])]
    if prometheus_path is not None:
        routes.append(Route(prometheus_path, api.prometheus, methods=["GET"]))
    if demo:
        routes.append(Route("/", api.demo, methods=["GET"]))

    @contextlib.asynccontextmanager
    async def lifespan(app):
        await core.start()
        grpc_server = None
        if grpc_port is not None:
            from seqtasks.serving.grpc_service import start_grpc

            grpc_server = await start_grpc(core, grpc_host, grpc_port)
        try:
            yield
        finally:
            if grpc_server is not None:
                await grpc_server.stop(grace=core.grace_left())
            await core.stop()

    handlers = {ServingError: _client_error, HTTPException: _http_error, 500: _server_error}
    app = Starlette(routes=routes, exception_handlers=handlers, lifespan=lifespan)
    app.router.redirect_slashes = False  # ".../sentiment/" is a JSON 404, as in TF Serving
    app.state.server = core
    return app
