"""Run the server with uvicorn: bind (127.0.0.1 by default), serve REST (and gRPC on
``grpc_port``), poll the model base paths, shut down gracefully.

On SIGINT/SIGTERM uvicorn stops accepting connections and lets in-flight requests finish (their
batches included) for at most ``ServerConfig.shutdown_grace_s`` (``--shutdown-grace-s``) in all,
REST and gRPC together; then the model calls still running are stopped, and the app stops gRPC,
the poller, the batchers and threads.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from seqtasks.errors import ModelError
from seqtasks.serving.app import ServerConfig, create_app
from seqtasks.serving.manager import DEFAULT_POLL_SECONDS, ModelManager, specs_from_arguments
from seqtasks.serving.models import SessionThreads

def serve(model_arguments: list[str], host: str = "127.0.0.1", port: int = 8501,
          config: ServerConfig = ServerConfig(), all_versions: bool = False,
          access_log: bool = False, grpc_port: int | None = None,
          model_config_file: str | None = None, poll_seconds: float = DEFAULT_POLL_SECONDS,
          demo: bool = False, threads: SessionThreads = SessionThreads()) -> None:
    """Load every ``[NAME=]DIR`` (and the models of ``model_config_file``), serve them until
    interrupted; every session runs with ``threads``."""
    from seqtasks.serving.config_file import read_model_config

    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    specs = specs_from_arguments(model_arguments, all_versions)
    if model_config_file:
        specs += read_model_config(model_config_file)
    names = [spec.name for spec in specs]
    if not specs:
        raise ModelError("no models to serve: pass NAME=BASE_PATH or --model-config-file")
    if len(set(names)) != len(names):
        raise ModelError(f"a model name is given twice: {sorted(names)}")
    manager = ModelManager(specs, poll_seconds, threads)
    # The app first, so the first loads' warmup replays are counted in its metrics.
    app = create_app(manager, config, grpc_port=grpc_port, grpc_host=host, demo=demo)
    manager.load_initial()
    for name, model in manager.models.items():
        loaded = ", ".join(map(str, sorted(model.loaded)))
        print(f"serving model '{name}' (version {loaded}) from {model.base_path} at "
              f"http://{host}:{port}/v1/models/{name}", file=sys.stderr, flush=True)
    if grpc_port is not None:
        print(f"gRPC: {host}:{grpc_port} (tensorflow_serving.apis PredictionService, "
              "ModelService)", file=sys.stderr, flush=True)
    if demo:
        print(f"demo page: http://{host}:{port}/", file=sys.stderr, flush=True)
    run_app(app, host, port, config.shutdown_grace_s, access_log)


def run_app(app, host: str, port: int | None, grace_s: float, access_log: bool = False) -> None:
    """Serve ``app`` until SIGINT/SIGTERM: REST on ``host:port`` with uvicorn, or, with no
    ``port``, only what its lifespan starts (gRPC), with the same graceful shutdown."""
    import uvicorn

    core = app.state.server
    if port is None:
        asyncio.run(_run_lifespan_only(app, core))
        return

    class Server(uvicorn.Server):
        def handle_exit(self, sig, frame):  # the grace period starts at the signal
            core.begin_shutdown()
            super().handle_exit(sig, frame)

    server = Server(uvicorn.Config(app, host=host, port=port, log_level="info",
                                   access_log=access_log, server_header=False,
                                   timeout_graceful_shutdown=grace_s))
    server.run()
    if not server.started:  # e.g. the port is taken: uvicorn has logged why
        sys.exit(3)  # uvicorn.run's exit status for a failed start


async def _run_lifespan_only(app, core) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, lambda: (core.begin_shutdown(), stop.set()))
    async with app.router.lifespan_context(app):
        await stop.wait()
