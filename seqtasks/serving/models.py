"""The models a server holds: export roots by name, their loaded versions and signatures.

Everything here is read from the export itself (the SavedModel's signatures and ``seqtasks.json``),
never from task-specific code, so any task's export is served the same way.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from seqtasks.errors import ModelError
from seqtasks.export.layout import METADATA_FILE, read_metadata, versions
from seqtasks.serving.errors import NotFound, RequestError


@dataclasses.dataclass(frozen=True)
class TensorInfo:
    """One named input or output of a signature: dtype and shape (``None`` = any size)."""

    name: str
    dtype: object  # tf.DType
    shape: tuple[int | None, ...] | None  # None: unknown rank

    @property
    def batched(self) -> bool:
        """True when the first dimension is the batch (rank >= 1, first dimension unknown)."""
        return bool(self.shape) and self.shape[0] is None


@dataclasses.dataclass
class Signature:
    """A callable signature of a loaded SavedModel with its input and output specs."""

    name: str
    function: object  # a ConcreteFunction taking keyword tensors, returning a dict of tensors
    inputs: dict[str, TensorInfo]
    outputs: dict[str, TensorInfo]

    @property
    def batchable(self) -> bool:
        """Requests may share one call: some input and every output has the batch dimension."""
        return (any(spec.batched for spec in self.inputs.values())
                and all(spec.batched for spec in self.outputs.values()))

    def __call__(self, arrays: dict) -> dict:
        """numpy arrays in, numpy arrays out (runs the graph; call it off the event loop)."""
        import tensorflow as tf

        result = self.function(**{name: tf.constant(array, dtype=self.inputs[name].dtype)
                                  for name, array in arrays.items()})
        return {name: tensor.numpy() for name, tensor in result.items()}


def _tensor_info(name: str, spec) -> TensorInfo:
    shape = None if spec.shape.rank is None else tuple(spec.shape.as_list())
    return TensorInfo(name, spec.dtype, shape)


@dataclasses.dataclass
class LoadedVersion:
    """One version directory: its signatures, its ``seqtasks.json`` and TF Serving metadata."""

    version: int
    path: Path
    metadata: dict
    signatures: dict[str, Signature]

    @classmethod
    def load(cls, path: Path) -> "LoadedVersion":
        import tensorflow as tf
        import tensorflow_text  # noqa: F401  registers the tokenizer ops the graphs use

        saved = tf.saved_model.load(str(path))
        signatures = {}
        for name, function in saved.signatures.items():
            inputs = function.structured_input_signature[1]
            signatures[name] = Signature(
                name, function, {key: _tensor_info(key, spec) for key, spec in inputs.items()},
                {key: _tensor_info(key, spec) for key, spec in function.structured_outputs.items()})
        return cls(int(path.name), path, read_metadata(path), signatures)

    def signature(self, name: str | None) -> Signature:
        name = name or "serving_default"
        if name not in self.signatures:
            raise RequestError(f"unknown signature_name '{name}' (this model has: "
                           f"{', '.join(sorted(self.signatures))})")
        return self.signatures[name]

    def signature_defs(self) -> dict:
        """The SignatureDefs as TF Serving's metadata API writes them (proto JSON)."""
        from google.protobuf import json_format
        from tensorflow.core.protobuf import saved_model_pb2

        saved_model = saved_model_pb2.SavedModel()
        saved_model.ParseFromString((self.path / "saved_model.pb").read_bytes())
        definitions = saved_model.meta_graphs[0].signature_def
        return {name: json_format.MessageToDict(definitions[name],
                                                preserving_proto_field_name=True,
                                                always_print_fields_with_no_presence=True)
                for name in sorted(definitions) if not name.startswith("__")}


class ServedModel:
    """An export root served under ``name``: the newest version, or every version."""

    def __init__(self, name: str, root: Path, loaded: dict[int, LoadedVersion]):
        self.name, self.root, self.loaded = name, root, loaded

    @classmethod
    def load(cls, name: str, path: str | Path, all_versions: bool = False) -> "ServedModel":
        """``path``: an export root (``DIR/<version>/``) or a single version directory."""
        path = Path(path)
        if not path.is_dir():
            raise ModelError(f"{path}: model directory not found")
        if (path / METADATA_FILE).exists() and path.name.isdigit():
            return cls(name, path.parent, {int(path.name): LoadedVersion.load(path)})
        found = [v for v in versions(path) if (path / str(v) / METADATA_FILE).exists()]
        if not found:
            raise ModelError(f"{path}: no exported versions (expected {path}/<version>/"
                             f"{METADATA_FILE}); pass the --out directory of 'seqtasks train'")
        chosen = found if all_versions else found[-1:]
        return cls(name, path, {v: LoadedVersion.load(path / str(v)) for v in chosen})

    @property
    def newest(self) -> int:
        return max(self.loaded)

    def version(self, version: int | None) -> LoadedVersion:
        if version is None:
            return self.loaded[self.newest]
        if version not in self.loaded:
            hint = " (start the server with --all-versions to serve older ones)" \
                if version in versions(self.root) else ""
            raise NotFound(f"model '{self.name}' has no served version {version}; served: "
                           f"{', '.join(map(str, sorted(self.loaded)))}{hint}")
        return self.loaded[version]

    def status(self, version: int | None = None) -> dict:
        """TF Serving's GetModelStatusResponse as JSON."""
        chosen = [self.version(version).version] if version is not None else sorted(self.loaded)
        return {"model_version_status": [
            {"version": str(v), "state": "AVAILABLE",
             "status": {"error_code": "OK", "error_message": ""}} for v in chosen]}

    def metadata(self, version: int | None = None) -> dict:
        """TF Serving's GetModelMetadataResponse as JSON, plus the export's ``seqtasks.json``."""
        loaded = self.version(version)
        return {"model_spec": {"name": self.name, "signature_name": "",
                               "version": str(loaded.version)},
                "metadata": {"signature_def": {"signature_def": loaded.signature_defs()},
                             "seqtasks": loaded.metadata}}


def parse_model_argument(argument: str) -> tuple[str, Path]:
    """``NAME=DIR`` or ``DIR`` (the name is then the export root's directory name)."""
    name, separator, directory = argument.partition("=")
    if not separator or Path(argument).exists():
        path = Path(argument)
        root = path.parent if path.name.isdigit() else path
        return root.resolve().name, path
    if not name or "/" in name or ":" in name:
        raise ModelError(f"'{argument}': a model name must be non-empty, without '/' or ':'")
    return name, Path(directory)


def load_models(arguments: list[str], all_versions: bool = False) -> dict[str, ServedModel]:
    """Load every ``[NAME=]DIR`` argument; names must be unique."""
    models: dict[str, ServedModel] = {}
    for argument in arguments:
        name, path = parse_model_argument(argument)
        if name in models:
            raise ModelError(f"two models are named '{name}' ({models[name].root} and {path}); "
                             "name them with NAME=DIR")
        models[name] = ServedModel.load(name, path, all_versions)
    return models
