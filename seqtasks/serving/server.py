"""Run the server with uvicorn: bind (127.0.0.1 by default), serve REST (and gRPC on
``grpc_port``), poll the model base paths, shut down gracefully.

On SIGINT/SIGTERM uvicorn stops accepting connections and lets in-flight requests finish (their
batches included) for at most ``ServerConfig.shutdown_grace_s`` (``--shutdown-grace-s``) in all,
REST and gRPC together; then the model calls still running are stopped, and the app stops gRPC,
the poller, the batchers and threads.

With ``workers`` > 1 this process starts that many worker processes, each a whole server (its
own models, poller, batchers and event loop) on the same ports (SO_REUSEPORT: the kernel spreads
new connections over them), passes SIGINT/SIGTERM on to them and waits; one Python event loop
then no longer carries every request. When a worker fails, the others are stopped and the
server exits with the worker's status.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import multiprocessing
import signal
import socket
import sys
import time

from seqtasks.errors import ModelError
from seqtasks.serving.app import ServerConfig, create_app
from seqtasks.serving.manager import DEFAULT_POLL_SECONDS, ModelManager, specs_from_arguments
from seqtasks.serving.models import SessionThreads

def serve(model_arguments: list[str], host: str = "127.0.0.1", port: int = 8501,
          config: ServerConfig = ServerConfig(), all_versions: bool = False,
          access_log: bool = False, grpc_port: int | None = None,
          model_config_file: str | None = None, poll_seconds: float = DEFAULT_POLL_SECONDS,
          demo: bool = False, threads: SessionThreads = SessionThreads(),
          workers: int = 1) -> None:
    """Load every ``[NAME=]DIR`` (and the models of ``model_config_file``), serve them until
    interrupted; every session runs with ``threads``; ``workers`` processes share the ports."""
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
    if grpc_port and not config.reuse_port:  # (a worker: its siblings hold the port)
        exit_if_grpc_port_taken(host, grpc_port)
    if workers > 1:  # checked above once, not once per worker
        if not port or grpc_port == 0:
            raise ModelError("--workers: the worker processes share fixed ports; pass --port "
                             "(and --grpc-port) other than 0")
        worker = dict(model_arguments=model_arguments, host=host, port=port,
                      config=dataclasses.replace(config, reuse_port=True),
                      all_versions=all_versions, access_log=access_log, grpc_port=grpc_port,
                      model_config_file=model_config_file, poll_seconds=poll_seconds,
                      demo=demo, threads=threads)
        sys.exit(run_workers(workers, worker))
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
    run_app(app, host, port, config.shutdown_grace_s, access_log, config.reuse_port)


def run_workers(count: int, worker: dict) -> int:
    """Run ``serve(**worker)`` in ``count`` fresh processes until SIGINT/SIGTERM (passed on to
    them) or until one of them fails (the others are then stopped); the exit status: 0, or the
    first failed worker's."""
    context = multiprocessing.get_context("spawn")  # no TensorFlow state copied by a fork
    processes = [context.Process(target=_worker, args=(worker,), name=f"seqtasks-serve-{i}")
                 for i in range(count)]
    stopping = False

    def stop(signum, frame):
        nonlocal stopping
        stopping = True
        for process in processes:
            if process.is_alive():
                process.terminate()  # SIGTERM: each drains within --shutdown-grace-s

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        for process in processes:
            process.start()
        print(f"{count} worker processes ({', '.join(str(p.pid) for p in processes)}) share "
              f"the ports", file=sys.stderr, flush=True)
        while any(process.is_alive() for process in processes):
            failed = [p for p in processes if p.exitcode not in (None, 0)]
            if failed and not stopping:
                print(f"error: worker process {failed[0].pid} exited with status "
                      f"{failed[0].exitcode}; stopping the others", file=sys.stderr, flush=True)
                stop(None, None)
            time.sleep(0.2)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for process in processes:
            process.join()
    codes = [process.exitcode for process in processes]
    failed = [code for code in codes if code not in (0, -signal.SIGTERM)]
    return (failed[0] if failed[0] > 0 else 1) if failed else 0


def _worker(worker: dict) -> None:
    # A worker stops on SIGTERM from the parent; Ctrl-C in the terminal reaches the whole
    # process group, and the parent passes it on as SIGTERM, so the worker ignores SIGINT.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _terminate_with_parent()
    from seqtasks.startup import quiet_tensorflow

    quiet_tensorflow()  # a fresh interpreter: TensorFlow's import chatter, as the CLI hides it
    try:
        serve(**worker)
    except ModelError as error:
        print(f"error: {error}", file=sys.stderr, flush=True)
        sys.exit(2)


def _terminate_with_parent() -> None:
    """Linux: SIGTERM this process when its parent dies, even by SIGKILL, so that no worker
    outlives the server and keeps its port (elsewhere: nothing)."""
    import ctypes
    import ctypes.util
    import os

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the parent died before the call
        os.kill(os.getpid(), signal.SIGTERM)


def shared_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` that other processes may bind too."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(address)
    return sock


def exit_if_grpc_port_taken(host: str, port: int) -> None:
    """Exit with one line (status 3, as for the REST port) when another socket holds the gRPC
    port: checked before the models load, since the app's lifespan would bind it only after,
    and log a failure there as a traceback."""
    from seqtasks.serving.grpc_service import check_port_free

    try:
        check_port_free(host, port)
    except OSError as error:
        print(f"error: {error}", file=sys.stderr, flush=True)
        sys.exit(3)  # as for the REST port


def run_app(app, host: str, port: int | None, grace_s: float, access_log: bool = False,
            reuse_port: bool = False) -> None:
    """Serve ``app`` until SIGINT/SIGTERM: REST on ``host:port`` with uvicorn, or, with no
    ``port``, only what its lifespan starts (gRPC), with the same graceful shutdown;
    ``reuse_port``: on a port other worker processes share."""
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
    if reuse_port:
        try:
            sock = shared_socket(host, port)
        except OSError as error:
            print(f"error: cannot bind {host}:{port} ({error.strerror})", file=sys.stderr,
                  flush=True)
            sys.exit(3)
        server.run(sockets=[sock])
    else:
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
