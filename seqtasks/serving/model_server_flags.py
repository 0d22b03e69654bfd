"""``tensorflow_model_server``'s command line, read the way it reads it.

Flag names, defaults and meanings are TF Serving's (tensorflow_serving/model_servers/main.cc and
server.h), so that a deployment swaps the binary's name and nothing else. ``--flag=value`` and
``--flag value`` both work (one or two dashes); a boolean flag alone means true and takes
``=true``/``=false``/``=1``/``=0``. A flag TF Serving has but this server does not implement, and a
flag neither has, is a ``ConfigError`` naming it: never silently ignored.
"""

from __future__ import annotations

import dataclasses

from seqtasks.errors import ConfigError

INT32_MAX = 2**31 - 1


@dataclasses.dataclass(frozen=True)
class ModelServerFlags:
    port: int = 8500                      # gRPC
    rest_api_port: int = 0                # REST; 0: off (the Docker image passes 8501)
    rest_api_timeout_in_ms: int = 30_000
    model_name: str = "default"
    model_base_path: str = ""
    model_config_file: str = ""
    model_config_file_poll_wait_seconds: int = 0  # 0: read once
    file_system_poll_wait_seconds: int = 1        # 0: scan once
    enable_batching: bool = False
    batching_parameters_file: str = ""
    monitoring_config_file: str = ""
    enable_model_warmup: bool = True
    tensorflow_session_parallelism: int = 0
    tensorflow_intra_op_parallelism: int = 0
    tensorflow_inter_op_parallelism: int = 0
    version: bool = False


HELP = {
    "port": "gRPC port (default 8500)",
    "rest_api_port": "REST port; 0 (the default) turns REST off",
    "rest_api_timeout_in_ms": "deadline of every request in ms (default 30000)",
    "model_name": "name of the model (default 'default'; ignored with --model_config_file)",
    "model_base_path": "the model's base path, holding version folders",
    "model_config_file": "a ModelServerConfig in protobuf text format (several models)",
    "model_config_file_poll_wait_seconds": "re-read the config file this often (0: once)",
    "file_system_poll_wait_seconds": "scan the base paths for versions this often (0: once)",
    "enable_batching": "batch concurrent requests into one model call (default false)",
    "batching_parameters_file": "a BatchingParameters text proto (needs --enable_batching)",
    "monitoring_config_file": "a MonitoringConfig text proto: prometheus_config { enable path }",
    "enable_model_warmup": "replay assets.extra/tf_serving_warmup_requests (default true)",
    "tensorflow_session_parallelism": "threads per session, intra and inter op (0: auto)",
    "tensorflow_intra_op_parallelism": "threads per op (0: auto)",
    "tensorflow_inter_op_parallelism": "ops at a time (0: auto)",
    "version": "print the version and exit",
}

# tensorflow_model_server's other flags (main.cc): known, refused by name.
NOT_IMPLEMENTED = (
    "grpc_socket_path", "rest_api_num_threads", "rest_api_enable_cors_support",
    "allow_version_labels_for_unavailable_models", "enable_per_model_batching_parameters",
    "num_load_threads", "num_unload_threads", "max_num_load_retries",
    "load_retry_interval_micros", "flush_filesystem_caches", "tensorflow_session_config_file",
    "use_alts_credentials", "ssl_config_file", "platform_config_file",
    "per_process_gpu_memory_fraction", "saved_model_tags", "grpc_channel_arguments",
    "grpc_max_threads", "num_request_iterations_for_warmup",
    "remove_unused_fields_from_bundle_metagraph", "prefer_tflite_model", "num_tflite_pools",
    "num_tflite_interpreters_per_pool", "enable_signature_method_name_check",
    "xla_cpu_compilation_enabled", "xla_gpu_compilation_enabled", "enable_profiler",
    "thread_pool_factory_config_file", "mixed_precision", "skip_initialize_tpu",
    "enable_grpc_healthcheck_service", "enable_serialization_as_tensor_content",
)

_FIELDS = {field.name: field for field in dataclasses.fields(ModelServerFlags)}
_TRUE, _FALSE = ("true", "1"), ("false", "0")


class HelpRequested(Exception):
    """``--help``: the caller prints ``usage()`` and exits 0."""


def usage(program: str = "seqtasks-model-server") -> str:
    lines = [f"usage: {program} --port=8500 --rest_api_port=8501 --model_name=NAME "
             "--model_base_path=/models/NAME [flags]",
             "tensorflow_model_server's flags (same names, defaults and meaning):"]
    defaults = ModelServerFlags()
    for name, text in HELP.items():
        default = getattr(defaults, name)
        shown = str(default).lower() if isinstance(default, bool) else repr(default)
        lines.append(f"  --{name}={shown}  {text}")
    lines.append("not implemented (refused): " + ", ".join(f"--{n}" for n in NOT_IMPLEMENTED))
    return "\n".join(lines)


def parse_flags(argv: list[str]) -> ModelServerFlags:
    """The flags of ``argv`` (without the program name), checked as TF Serving checks them."""
    values: dict = {}
    index = 0
    while index < len(argv):
        argument = argv[index]
        index += 1
        if argument in ("-h", "--help", "-help", "--helpfull"):
            raise HelpRequested()
        if not argument.startswith("-") or argument in ("-", "--"):
            raise ConfigError(f"unexpected argument {argument!r}: every setting is a flag "
                              "(--model_base_path=/models/NAME, not a positional path)")
        name, has_value, value = argument.lstrip("-").partition("=")
        if name in NOT_IMPLEMENTED:
            raise ConfigError(f"--{name}: a tensorflow_model_server flag this server does not "
                              "implement; remove it (see --help for the flags it does)")
        if name not in _FIELDS:
            raise ConfigError(f"--{name}: unknown flag (not one of tensorflow_model_server's); "
                              "see --help")
        kind = _FIELDS[name].type
        if kind == "bool":
            values[name] = _bool(name, value) if has_value else True
            continue
        if not has_value:
            if index >= len(argv):
                raise ConfigError(f"--{name}: missing value (--{name}=VALUE)")
            value, index = argv[index], index + 1
        values[name] = _int(name, value) if kind == "int" else value
    flags = ModelServerFlags(**values)
    _check(flags)
    return flags


def _bool(name: str, value: str) -> bool:
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ConfigError(f"--{name}={value}: expected true or false")


def _int(name: str, value: str) -> int:
    try:
        number = int(value.strip())
    except ValueError:
        raise ConfigError(f"--{name}={value}: expected an integer") from None
    if not -INT32_MAX - 1 <= number <= INT32_MAX:  # TF Serving's flags are int32/int64
        raise ConfigError(f"--{name}={value}: out of range")
    return number


def _check(flags: ModelServerFlags) -> None:
    """What TF Serving refuses at start (server.cc), plus what it leaves to chance."""
    if flags.version:
        return
    for name in ("port", "rest_api_port"):
        if not 0 <= getattr(flags, name) <= 65535:
            raise ConfigError(f"--{name}={getattr(flags, name)}: a port is 0..65535")
    if flags.port == 0:
        raise ConfigError("--port=0: the gRPC port must be set (--grpc_socket_path is not "
                          "implemented)")
    if flags.rest_api_port == flags.port:
        raise ConfigError(f"--rest_api_port={flags.rest_api_port} is the same as --port; use a "
                          "different port for the REST API")
    if not flags.model_base_path and not flags.model_config_file:
        raise ConfigError("pass --model_base_path=/models/NAME (with --model_name=NAME) or "
                          "--model_config_file=FILE")
    if flags.batching_parameters_file and not flags.enable_batching:
        raise ConfigError("--batching_parameters_file is set without --enable_batching=true")
    if min(flags.tensorflow_intra_op_parallelism, flags.tensorflow_inter_op_parallelism) > 0 \
            and flags.tensorflow_session_parallelism > 0:
        raise ConfigError("set either --tensorflow_session_parallelism or "
                          "--tensorflow_intra_op_parallelism/--tensorflow_inter_op_parallelism")
    for name in ("rest_api_timeout_in_ms", "model_config_file_poll_wait_seconds",
                 "file_system_poll_wait_seconds", "tensorflow_session_parallelism",
                 "tensorflow_intra_op_parallelism", "tensorflow_inter_op_parallelism"):
        if getattr(flags, name) < 0:
            raise ConfigError(f"--{name}={getattr(flags, name)}: must be >= 0 (TF Serving "
                              "reserves negative values for its own tests)")
