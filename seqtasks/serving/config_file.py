"""TF Serving's ``--model_config_file``: a ``ModelServerConfig`` in protobuf text format.

    model_config_list {
      config {
        name: "sst2"
        base_path: "/models/sst2"
        model_platform: "tensorflow"
        model_version_policy { latest { num_versions: 2 } }   # or all {} / specific { versions: 3 }
        version_labels { key: "stable" value: 3 }
      }
    }

Parsed with protobuf's own text_format into TF Serving's proto, so what TF Serving accepts is
accepted here; every error names the file and line.
"""

from __future__ import annotations

import re
from pathlib import Path

from seqtasks.errors import DataError
from seqtasks.serving.manager import ModelSpec
from seqtasks.serving.served import VersionPolicy, model_name_problem


def read_model_config(path: str | Path) -> list[ModelSpec]:
    from google.protobuf import text_format
    from tensorflow_serving.config import model_server_config_pb2

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(path, f"cannot read the model config file ({error})") from None
    config = model_server_config_pb2.ModelServerConfig()
    try:
        text_format.Parse(text, config)
    except text_format.ParseError as error:
        message = re.sub(r"^\d+:\d+ : ", "", str(error))
        raise DataError(path, f"column {error.GetColumn()}: {message}", error.GetLine(),
                        "the file is a ModelServerConfig in protobuf text format: "
                        "model_config_list { config { name: ... base_path: ... } }") from None
    if config.WhichOneof("config") != "model_config_list":
        raise DataError(path, "no model_config_list (custom_model_config is not supported)", 1)
    specs, seen = [], set()
    for index, model in enumerate(config.model_config_list.config):
        line = _line_of(text, model.name, index)
        if not model.name:
            raise DataError(path, "a config has no name", line)
        if model_name_problem(model.name):
            raise DataError(path, model_name_problem(model.name), line)
        if model.name in seen:
            raise DataError(path, f"two configs are named '{model.name}'", line)
        if not model.base_path:
            raise DataError(path, f"model '{model.name}' has no base_path", line)
        if model.model_platform not in ("", "tensorflow"):
            raise DataError(path, f"model '{model.name}': model_platform "
                                  f"'{model.model_platform}' is not supported (only tensorflow)",
                            line)
        base_path = Path(model.base_path)
        if not base_path.is_dir():
            raise DataError(path, f"model '{model.name}': base_path {base_path} is not a "
                                  "directory", line)
        seen.add(model.name)
        specs.append(ModelSpec(model.name, base_path, _policy(model, path, line),
                               tuple(sorted(model.version_labels.items()))))
    if not specs:
        raise DataError(path, "model_config_list has no config", 1)
    return specs


def _policy(model, path: Path, line: int) -> VersionPolicy:
    policy = model.model_version_policy
    kind = policy.WhichOneof("policy_choice")
    if kind == "all":
        return VersionPolicy("all")
    if kind == "specific":
        if not policy.specific.versions:
            raise DataError(path, f"model '{model.name}': specific {{}} lists no versions", line)
        return VersionPolicy("specific", specific=tuple(policy.specific.versions))
    count = policy.latest.num_versions if kind == "latest" else 1
    if count < 1:
        raise DataError(path, f"model '{model.name}': latest {{ num_versions }} must be >= 1",
                        line)
    return VersionPolicy("latest", count=count)


def _line_of(text: str, name: str, index: int) -> int:
    """The line (1-based) of config number ``index`` (0-based), for errors about one config:
    where its ``name: "NAME"`` is, else where its ``config {`` opens."""
    from google.protobuf import text_encoding

    # comments blanked (same length, so offsets hold) unless a quote comes first on the line
    code = re.sub(r"(?m)^([^\"'#\n]*)#.*$", lambda m: m.group(1) + " " * (len(m.group(0))
                                                                       - len(m.group(1))), text)
    opened = [match.start() for match in re.finditer(r"\bconfig\s*:?\s*\{", code)]
    start = opened[index] if index < len(opened) else 0
    end = opened[index + 1] if index + 1 < len(opened) else len(code)
    forms = {re.escape(name), re.escape(text_encoding.CEscape(name, as_utf8=True))}
    for form in forms if name else ():
        found = re.compile(r"\bname\s*:\s*[\"']" + form + r"[\"']").search(code, start, end)
        if found:
            return code.count("\n", 0, found.start()) + 1
    return code.count("\n", 0, start) + 1
