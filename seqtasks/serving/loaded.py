"""One loaded version of a SavedModel: its Session, signatures with their specs, in-flight count.

Like TF Serving, a version is loaded into a ``Session`` from its MetaGraph and run with ``Session``
calls (TF1 graphs and TF2 exports alike), which also feeds tensors exactly as TF Serving does (no
shape check beyond the graph's own). A ``seqtasks.json`` beside it only adds the extras (label
names, metrics) to the metadata.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import threading
from pathlib import Path

import numpy as np

from seqtasks.errors import ModelError
from seqtasks.export.layout import METADATA_FILE, read_metadata, saved_model_file, version_number
from seqtasks.serving.errors import RequestError

log = logging.getLogger("seqtasks.serving")

def _load_errors() -> tuple[type[BaseException], ...]:
    import tensorflow as tf
    from google.protobuf.message import DecodeError

    return (tf.errors.OpError, RuntimeError, ValueError, TypeError, KeyError, OSError,
            DecodeError)


PREDICT, CLASSIFY, REGRESS = ("tensorflow/serving/predict", "tensorflow/serving/classify",
                              "tensorflow/serving/regress")


@dataclasses.dataclass(frozen=True)
class TensorInfo:
    """One named input or output of a signature: dtype and shape (``None`` = any size)."""

    name: str
    dtype: object  # tf.DType
    shape: tuple[int | None, ...] | None  # None: unknown rank
    tensor: str = ""  # the graph tensor ("x:0")

    @property
    def batched(self) -> bool:
        """True when the first dimension is the batch (rank >= 1, first dimension unknown)."""
        return bool(self.shape) and self.shape[0] is None

    @classmethod
    def from_proto(cls, name: str, info) -> "TensorInfo":
        import tensorflow as tf

        # No tensor_shape at all (TF1 exports such as TF Serving's half_plus_three) promises
        # nothing, like unknown_rank: the tensor is fed as the request builds it.
        known = info.HasField("tensor_shape") and not info.tensor_shape.unknown_rank
        shape = tuple(None if dim.size < 0 else dim.size
                      for dim in info.tensor_shape.dim) if known else None
        return cls(name, tf.dtypes.as_dtype(info.dtype), shape, info.name)


class Signature:
    """A SignatureDef of a loaded version, callable on numpy arrays (off the event loop)."""

    def __init__(self, name: str, method_name: str, inputs: dict[str, TensorInfo],
                 outputs: dict[str, TensorInfo], session=None):
        self.name, self.method_name = name, method_name
        self.inputs, self.outputs = inputs, outputs
        self._feeds, self._fetches = sorted(inputs), sorted(outputs)
        self._call = None
        self._session = session
        self._timed: dict[int, object] = {}  # timeout ms -> its callable (timed_callable)
        self._timed_lock = threading.Lock()
        if session is not None:
            self._call = self._make_callable()

    def _make_callable(self, timeout_ms: int = 0):
        from tensorflow.core.protobuf import config_pb2

        # A callable from CallableOptions feeds the arrays as they are, like TF Serving's
        # Session::Run (Session.run and make_callable refuse shapes the graph's static shape
        # does not promise, e.g. [3] for half_plus_two's [-1, 1] input), and it is faster.
        options = config_pb2.CallableOptions(
            feed=[self.inputs[key].tensor for key in self._feeds],
            fetch=[self.outputs[key].tensor for key in self._fetches])
        if timeout_ms:
            options.run_options.timeout_in_ms = timeout_ms
        return self._session._make_callable_from_options(options)  # noqa: SLF001

    def timed_callable(self, timeout_ms: int):
        """A callable (arrays in ``sorted(inputs)`` order) whose runs stop after ``timeout_ms``
        (the timeout is part of a callable's options). Each is made once and shared by every
        caller, the batchers of every server and the warmup replay alike: making one optimises
        the graph anew (seconds for a recurrent model), which no request should pay for."""
        with self._timed_lock:
            if timeout_ms not in self._timed:
                self._timed[timeout_ms] = self._make_callable(timeout_ms)
            return self._timed[timeout_ms]

    @property
    def timeouts_ms(self) -> list[int]:
        """The timeouts that have a callable made already."""
        with self._timed_lock:
            return sorted(self._timed)

    @property
    def batchable(self) -> bool:
        """Requests may share one call: some input and every output has the batch dimension."""
        return (any(spec.batched for spec in self.inputs.values())
                and all(spec.batched for spec in self.outputs.values()))

    def __call__(self, arrays: dict) -> dict:
        """numpy arrays in (every input), numpy arrays out (every output)."""
        values = self._call(*[np.asarray(arrays[key], dtype=numpy_dtype(self.inputs[key]))
                              for key in self._feeds])
        return dict(zip(self._fetches, values))


def numpy_dtype(spec: TensorInfo):
    return object if spec.dtype.name == "string" else spec.dtype.as_numpy_dtype


@dataclasses.dataclass(frozen=True)
class SessionThreads:
    """TF Serving's ``--tensorflow_intra_op_parallelism`` / ``--tensorflow_inter_op_parallelism``:
    threads per op and ops at a time in every session (0: TensorFlow picks, one per core).
    TensorFlow sizes its CPU thread pools once per process, from the first session's values.
    For a BiLSTM, ``intra_op=1`` lets the two directions' loops run side by side, and was
    faster than the default (bench/results/inference-throughput.json)."""

    intra_op: int = 0
    inter_op: int = 0


class LoadedVersion:
    """One loaded version: its session, signatures, ``seqtasks.json`` (or ``{}``) and the number
    of requests using it, so that an unloaded version is closed only once they are answered."""

    def __init__(self, version: int, path: Path, metadata: dict, signatures: dict[str, Signature],
                 signature_defs: dict | None = None, session=None):
        self.version, self.path, self.metadata, self.signatures = version, path, metadata, \
            signatures
        self._signature_defs = signature_defs or {}
        self.session = session
        self.in_flight = 0
        self.warmup_records = 0  # warmup requests replayed before it was served
        self.retired = False
        self._lock = threading.Lock()

    @classmethod
    def load(cls, path: Path, version: int | None = None,
             threads: SessionThreads | None = None) -> "LoadedVersion":
        import tensorflow as tf

        with contextlib.suppress(ImportError):
            import tensorflow_text  # noqa: F401  registers the tokenizer ops seqtasks graphs use

        path = Path(path)
        if saved_model_file(path) is None:
            raise ModelError(f"{path}: no saved_model.pb (not a SavedModel version directory)")
        graph = tf.Graph()
        threads = threads or SessionThreads()
        session = tf.compat.v1.Session(graph=graph, config=tf.compat.v1.ConfigProto(
            intra_op_parallelism_threads=threads.intra_op,
            inter_op_parallelism_threads=threads.inter_op))
        try:
            meta_graph = tf.compat.v1.saved_model.loader.load(session, ["serve"], str(path))
            signatures, definitions = _signatures(meta_graph, session, path)
            metadata = read_metadata(path) if (path / METADATA_FILE).exists() else {}
        except _load_errors() as error:  # what is on disk is input: half-copied, corrupt, foreign
            session.close()
            first = str(error).strip().splitlines()[0] if str(error).strip() else ""
            raise ModelError(f"{path}: cannot load the SavedModel ({type(error).__name__}: "
                             f"{first})") from None
        except ModelError:
            session.close()
            raise
        if version is None:
            version = version_number(path.name) or 0
        return cls(version, path, metadata, signatures, definitions, session)

    def signature(self, name: str | None) -> Signature:
        name = name or "serving_default"
        if name not in self.signatures:
            raise RequestError(f"unknown signature_name '{name}' (this model has: "
                               f"{', '.join(sorted(self.signatures))})")
        return self.signatures[name]

    def signature_defs(self) -> dict:
        """The SignatureDefs as TF Serving's metadata API writes them (proto JSON)."""
        from google.protobuf import json_format

        return {name: json_format.MessageToDict(definition, preserving_proto_field_name=True,
                                                always_print_fields_with_no_presence=True)
                for name, definition in self._signature_defs.items()}

    def signature_def_map(self):
        """The SignatureDefMap proto (gRPC's GetModelMetadata answers it in an Any)."""
        from tensorflow_serving.apis import get_model_metadata_pb2

        result = get_model_metadata_pb2.SignatureDefMap()
        for name, definition in self._signature_defs.items():
            result.signature_def[name].CopyFrom(definition)
        return result

    def acquire(self) -> bool:
        with self._lock:
            if self.retired:
                return False
            self.in_flight += 1
            return True

    def release(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def retire(self) -> None:
        with self._lock:
            self.retired = True

    @property
    def idle(self) -> bool:
        with self._lock:
            return self.in_flight == 0

    def close(self) -> None:
        if self.session is not None:
            self.session.close()
            self.session = None


def _signatures(meta_graph, session, path: Path) -> tuple[dict[str, Signature], dict]:
    """The servable signatures of a loaded MetaGraph, and every SignatureDef (for metadata)."""
    signatures, definitions = {}, {}
    for name, definition in sorted(meta_graph.signature_def.items()):
        definitions[name] = definition  # all of them in the metadata, as TF Serving does
        if name.startswith("__"):  # __saved_model_init_op and the like: not servable
            continue
        tensors = list(definition.inputs.values()) + list(definition.outputs.values())
        if any(info.WhichOneof("encoding") != "name" for info in tensors):
            log.warning("%s: signature '%s' has sparse or composite tensors; not served",
                        path, name)
            continue
        signatures[name] = Signature(
            name, definition.method_name,
            {key: TensorInfo.from_proto(key, info) for key, info in definition.inputs.items()},
            {key: TensorInfo.from_proto(key, info)
             for key, info in definition.outputs.items()}, session)
    return signatures, definitions
