"""Run the REST server with uvicorn: bind (127.0.0.1 by default), serve, shut down gracefully.

On SIGINT/SIGTERM uvicorn stops accepting connections, lets in-flight requests finish (their
batches included), then the app closes its batchers and inference threads.
"""

from __future__ import annotations

import logging
import sys

from seqtasks.serving.app import ServerConfig, create_app
from seqtasks.serving.models import load_models

GRACEFUL_SHUTDOWN_S = 30


def serve(model_arguments: list[str], host: str = "127.0.0.1", port: int = 8501,
          config: ServerConfig = ServerConfig(), all_versions: bool = False,
          access_log: bool = False) -> None:
    """Load every ``[NAME=]DIR`` and serve them until interrupted."""
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    models = load_models(model_arguments, all_versions)
    app = create_app(models, config)
    for name, model in models.items():
        loaded = ", ".join(map(str, sorted(model.loaded)))
        print(f"serving model '{name}' (version {loaded}) from {model.root} at "
              f"http://{host}:{port}/v1/models/{name}", file=sys.stderr, flush=True)
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=access_log,
                timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S, server_header=False)
