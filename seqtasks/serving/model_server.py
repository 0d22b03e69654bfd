"""``seqtasks-model-server``: this server behind ``tensorflow_model_server``'s command line.

    seqtasks-model-server --port=8500 --rest_api_port=8501 --model_name=NAME \\
        --model_base_path=/models/NAME

Flags (``model_server_flags``) map onto the server's own settings: ``--enable_batching`` with a
``--batching_parameters_file`` onto the micro-batcher, ``--monitoring_config_file`` onto the
Prometheus route, ``--model_config_file_poll_wait_seconds`` onto ``config_watch``. Both ports
bind 0.0.0.0, as TF Serving's do.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from seqtasks.errors import ConfigError, ModelError, SeqtasksError
from seqtasks.serving.model_server_flags import HelpRequested, ModelServerFlags, parse_flags, usage

HOST = "0.0.0.0"
MAX_ROWS_UNBATCHED = 1000  # examples in one request without --enable_batching (TF's default)


def server_config(flags: ModelServerFlags):
    from seqtasks.serving.core import ServerConfig
    from seqtasks.serving.operation_files import BatchingParameters, read_batching_parameters

    if not flags.enable_batching:  # each request runs as it comes: no waiting for company
        return ServerConfig(max_batch_size=MAX_ROWS_UNBATCHED, batch_timeout_ms=0.0,
                            timeout_ms=flags.rest_api_timeout_in_ms)
    batching = read_batching_parameters(flags.batching_parameters_file) \
        if flags.batching_parameters_file else BatchingParameters()
    return ServerConfig(max_batch_size=batching.max_batch_size,
                        batch_timeout_ms=batching.batch_timeout_micros / 1000.0,
                        inference_threads=batching.num_batch_threads or (os.cpu_count() or 1),
                        timeout_ms=flags.rest_api_timeout_in_ms,
                        max_enqueued_batches=batching.max_enqueued_batches,
                        allowed_batch_sizes=batching.allowed_batch_sizes)


def session_threads(flags: ModelServerFlags):
    from seqtasks.serving.loaded import SessionThreads

    if flags.tensorflow_intra_op_parallelism or flags.tensorflow_inter_op_parallelism:
        return SessionThreads(flags.tensorflow_intra_op_parallelism,
                              flags.tensorflow_inter_op_parallelism)
    return SessionThreads(flags.tensorflow_session_parallelism,
                          flags.tensorflow_session_parallelism)


def model_specs(flags: ModelServerFlags) -> list:
    from seqtasks.serving.config_file import read_model_config
    from seqtasks.serving.manager import ModelSpec
    from seqtasks.serving.served import model_name_problem

    if flags.model_config_file:  # TF Serving then ignores --model_name/--model_base_path
        return read_model_config(flags.model_config_file)
    if model_name_problem(flags.model_name):
        raise ConfigError(f"--model_name: {model_name_problem(flags.model_name)}")
    base_path = Path(flags.model_base_path)
    if not base_path.is_dir():
        raise ModelError(f"--model_base_path={base_path}: not a directory (expected "
                         f"{base_path}/<version>/saved_model.pb)")
    return [ModelSpec(flags.model_name, base_path)]


def run(flags: ModelServerFlags) -> None:
    from seqtasks.serving.app import create_app
    from seqtasks.serving.config_watch import ConfigFileWatcher
    from seqtasks.serving.manager import ModelManager
    from seqtasks.serving.operation_files import MonitoringConfig, read_monitoring_config
    from seqtasks.serving.server import exit_if_grpc_port_taken, run_app

    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    config = server_config(flags)
    if flags.port:
        exit_if_grpc_port_taken(HOST, flags.port)
    monitoring = read_monitoring_config(flags.monitoring_config_file) \
        if flags.monitoring_config_file else MonitoringConfig()
    manager = ModelManager(model_specs(flags), flags.file_system_poll_wait_seconds,
                           session_threads(flags), warmup=flags.enable_model_warmup)
    app = create_app(manager, config, grpc_port=flags.port, grpc_host=HOST,
                     prometheus_path=monitoring.prometheus_path
                     if monitoring.prometheus_enable else None)
    manager.load_initial()
    for name, model in manager.models.items():
        print(f"serving model '{name}' (version {', '.join(map(str, sorted(model.loaded)))}) "
              f"from {model.base_path}", file=sys.stderr, flush=True)
    print(f"gRPC on {HOST}:{flags.port}; REST "
          f"{f'on {HOST}:{flags.rest_api_port}' if flags.rest_api_port else 'off'}",
          file=sys.stderr, flush=True)
    watcher = None
    if flags.model_config_file and flags.model_config_file_poll_wait_seconds > 0:
        watcher = ConfigFileWatcher(manager, flags.model_config_file,
                                    flags.model_config_file_poll_wait_seconds)
        watcher.start()
    try:
        run_app(app, HOST, flags.rest_api_port or None, config.shutdown_grace_s)
    finally:
        if watcher is not None:
            watcher.stop()


def main(argv: list[str] | None = None) -> int:
    try:
        flags = parse_flags(sys.argv[1:] if argv is None else argv)
    except HelpRequested:
        print(usage())
        return 0
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if flags.version:
        import importlib.metadata

        print(f"seqtasks-model-server {importlib.metadata.version('seqtasks')} "
              "(tensorflow_model_server's flags and APIs)")
        return 0
    from seqtasks.startup import quiet_tensorflow

    quiet_tensorflow()
    try:
        run(flags)
    except SeqtasksError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # e.g. a port already taken
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
