"""TF Serving's operations files, read as it reads them (protobuf text format):

    --batching_parameters_file   BatchingParameters      max_batch_size { value: 32 } ...
    --monitoring_config_file     MonitoringConfig        prometheus_config { enable: true ... }

The ``tensorflow-serving-api`` package ships neither proto, so both messages are declared here
field for field (numbers and types as in tensorflow_serving/servables/tensorflow/
session_bundle_config.proto and config/monitoring_config.proto) and parsed by protobuf's own
text_format: what TF Serving accepts is accepted. Every error names the file and line.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from seqtasks.errors import DataError

MAX_FILE_BYTES = 1 << 20  # both files are a few lines; a bigger one is not one of them
PROMETHEUS_PATH = "/monitoring/prometheus/metrics"  # PrometheusExporter::kPrometheusPath
MAX_BATCH_SIZE = 1 << 16  # examples per model call; more is a typo, not a batch


@dataclasses.dataclass(frozen=True)
class BatchingParameters:
    """The fields this server applies; defaults are TF Serving's (batching_session.h)."""

    max_batch_size: int = 1000
    batch_timeout_micros: int = 0
    max_enqueued_batches: int = 10
    num_batch_threads: int = 0  # 0: one per CPU core, as TF Serving's default
    allowed_batch_sizes: tuple[int, ...] = ()
    pad_variable_length_inputs: bool = False


@dataclasses.dataclass(frozen=True)
class MonitoringConfig:
    prometheus_enable: bool = False
    prometheus_path: str = PROMETHEUS_PATH


def _message_classes():
    """BatchingParameters and MonitoringConfig as protobuf message classes."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, wrappers_pb2

    pool = descriptor_pool.DescriptorPool()
    wrappers = descriptor_pb2.FileDescriptorProto()
    wrappers_pb2.DESCRIPTOR.CopyToProto(wrappers)
    pool.Add(wrappers)
    file = descriptor_pb2.FileDescriptorProto(
        name="seqtasks_tf_serving_operations.proto", package="tensorflow.serving",
        syntax="proto3", dependency=[wrappers.name])
    F = descriptor_pb2.FieldDescriptorProto
    optional, repeated = F.LABEL_OPTIONAL, F.LABEL_REPEATED

    int64 = (F.TYPE_MESSAGE, optional, ".google.protobuf.Int64Value")
    batching = file.message_type.add(name="BatchingParameters")
    for field, number, (kind, label, type_name) in [
            ("max_batch_size", 1, int64), ("batch_timeout_micros", 2, int64),
            ("max_enqueued_batches", 3, int64), ("num_batch_threads", 4, int64),
            ("thread_pool_name", 5, (F.TYPE_MESSAGE, optional, ".google.protobuf.StringValue")),
            ("allowed_batch_sizes", 6, (F.TYPE_INT64, repeated, "")),
            ("pad_variable_length_inputs", 7, (F.TYPE_BOOL, optional, "")),
            ("enable_large_batch_splitting", 8,
             (F.TYPE_MESSAGE, optional, ".google.protobuf.BoolValue")),
            ("max_execution_batch_size", 9, int64)]:
        batching.field.add(name=field, number=number, type=kind, label=label,
                           **({"type_name": type_name} if type_name else {}))
    prometheus = file.message_type.add(name="PrometheusConfig")
    prometheus.field.add(name="enable", number=1, type=F.TYPE_BOOL, label=optional)
    prometheus.field.add(name="path", number=2, type=F.TYPE_STRING, label=optional)
    monitoring = file.message_type.add(name="MonitoringConfig")
    monitoring.field.add(name="prometheus_config", number=1, type=F.TYPE_MESSAGE, label=optional,
                         type_name=".tensorflow.serving.PrometheusConfig")
    pool.Add(file)
    return (message_factory.GetMessageClass(
                pool.FindMessageTypeByName("tensorflow.serving.BatchingParameters")),
            message_factory.GetMessageClass(
                pool.FindMessageTypeByName("tensorflow.serving.MonitoringConfig")))


def _parse(path: Path, message, example: str):
    """``message`` filled from the text file at ``path``, or a DataError at file:line."""
    from google.protobuf import text_format

    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise DataError(path, f"{path.stat().st_size} bytes, over the limit of "
                                  f"{MAX_FILE_BYTES} for a {message.DESCRIPTOR.name} file")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(path, f"cannot read the {message.DESCRIPTOR.name} file ({error})",
                        hint="check the path") from None
    try:
        text_format.Parse(text, message)
    except text_format.ParseError as error:
        problem = re.sub(r"^\d+:\d+ : ", "", str(error))
        raise DataError(path, f"column {error.GetColumn()}: {problem}", error.GetLine(),
                        f"the file is a {message.DESCRIPTOR.full_name} in protobuf text "
                        f"format, e.g. {example}") from None
    return message, text


def _line_of(text: str, field: str) -> int:
    found = re.search(rf"(?m)^[^#\n]*\b{field}\b", text)
    return text.count("\n", 0, found.start()) + 1 if found else 1


def read_batching_parameters(path: str | Path) -> BatchingParameters:
    """``--batching_parameters_file``: every field checked as TF Serving checks it."""
    path = Path(path)
    proto, text = _parse(path, _message_classes()[0](), "max_batch_size { value: 32 }")
    unsupported = [field for field in ("enable_large_batch_splitting",
                                       "max_execution_batch_size")
                   if proto.HasField(field) and getattr(proto, field).value]
    if proto.pad_variable_length_inputs:  # requests of different lengths never share a call
        unsupported.append("pad_variable_length_inputs")
    if unsupported:
        raise DataError(path, f"{unsupported[0]} is not supported by this server (requests are "
                              "never split, nor padded to each other's lengths)", _line_of(text, unsupported[0]),
                        f"remove {unsupported[0]}")
    defaults = BatchingParameters()
    values = {field: getattr(proto, field).value if proto.HasField(field)
              else getattr(defaults, field)
              for field in ("max_batch_size", "batch_timeout_micros", "max_enqueued_batches",
                            "num_batch_threads")}
    for field, smallest in (("max_batch_size", 1), ("batch_timeout_micros", 0),
                            ("max_enqueued_batches", 1), ("num_batch_threads", 1)):
        if proto.HasField(field) and values[field] < smallest:
            raise DataError(path, f"{field} must be >= {smallest}, got {values[field]}",
                            _line_of(text, field))
    if values["max_batch_size"] > MAX_BATCH_SIZE:
        raise DataError(path, f"max_batch_size {values['max_batch_size']} is over this "
                              f"server's limit of {MAX_BATCH_SIZE}",
                        _line_of(text, "max_batch_size"))
    allowed = tuple(proto.allowed_batch_sizes)
    if allowed:
        line = _line_of(text, "allowed_batch_sizes")
        if any(size < 1 for size in allowed) or list(allowed) != sorted(set(allowed)):
            raise DataError(path, f"allowed_batch_sizes {list(allowed)} must be positive and "
                                  "increasing", line)
        if allowed[-1] != values["max_batch_size"]:
            raise DataError(path, f"the last allowed_batch_sizes entry ({allowed[-1]}) must "
                                  f"equal max_batch_size ({values['max_batch_size']})", line)
    return BatchingParameters(**values, allowed_batch_sizes=allowed,
                              pad_variable_length_inputs=proto.pad_variable_length_inputs)


def read_monitoring_config(path: str | Path) -> MonitoringConfig:
    """``--monitoring_config_file``: ``prometheus_config { enable: true path: "/metrics" }``."""
    path = Path(path)
    proto, text = _parse(path, _message_classes()[1](),
                         'prometheus_config { enable: true, path: "/monitoring/prometheus/'
                         'metrics" }')
    prometheus = proto.prometheus_config
    metrics_path = prometheus.path or PROMETHEUS_PATH
    if not metrics_path.startswith("/") or not re.fullmatch(r"[A-Za-z0-9/._~-]+", metrics_path):
        raise DataError(path, f"prometheus_config path {metrics_path!r} must be an absolute URL "
                              "path of letters, digits and / . _ ~ -", _line_of(text, "path"))
    if metrics_path.startswith("/v1/"):
        raise DataError(path, f"prometheus_config path {metrics_path!r} is under /v1/, where "
                              "the model API lives", _line_of(text, "path"))
    return MonitoringConfig(prometheus.enable, metrics_path)
