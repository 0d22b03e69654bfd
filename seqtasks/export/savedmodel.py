"""SavedModel export: string signatures, tokenizer + vocabulary inside the graph, versioned
TF Serving layout (``ROOT/<version>/``), written atomically, self-described by ``seqtasks.json``."""

from __future__ import annotations

import json
import platform
import shutil
import time
from pathlib import Path
from typing import Sequence

import tensorflow as tf

from seqtasks.errors import ModelError
from seqtasks.export.layout import METADATA_FILE, versions
from seqtasks.export.model_card import write_model_card
from seqtasks.export.warmup import WARMUP_TEXTS, write_warmup_requests
from seqtasks.io import atomic_dir


def library_versions() -> dict[str, str]:
    import importlib.metadata

    import keras
    import tensorflow_text

    # The installed distribution's version: the export layer does not import the package face.
    return {"seqtasks": importlib.metadata.version("seqtasks"), "tensorflow": tf.__version__,
            "keras": keras.__version__, "tensorflow_text": tensorflow_text.__version__,
            "python": platform.python_version()}


def op_types(export_dir) -> set[str]:
    """Every op type in a SavedModel: its graphs and all their library functions (where the
    serving functions, loops and layers live). A CPU-servable export has no ``CudnnRNN*``."""
    from tensorflow.core.protobuf import saved_model_pb2

    saved_model = saved_model_pb2.SavedModel()
    saved_model.ParseFromString((Path(export_dir) / "saved_model.pb").read_bytes())
    types = set()
    for meta_graph in saved_model.meta_graphs:
        types |= {node.op for node in meta_graph.graph_def.node}
        for function in meta_graph.graph_def.library.function:
            types |= {node.op for node in function.node_def}
    return types


def export_savedmodel(
    root: str | Path,
    model,
    resources: list,
    signatures: dict,
    metadata: dict,
    asset_files: dict[str, Path] = {},
    warmup_examples: Sequence[str | bytes] = WARMUP_TEXTS,
) -> Path:
    """Write the next version under ``root`` and return its directory.

    ``signatures`` maps names to ``tf.function``s with input signatures (string tensors in);
    the first is also ``serving_default`` unless one is named so. ``resources`` are the lookup
    tables the functions use (they must be tracked explicitly). ``asset_files`` (vocabularies,
    label lists) are copied into ``assets/`` for people and tools that read the export.
    ``warmup_examples`` (raw inputs: texts, encoded images) make the warmup requests servers
    replay before the version takes traffic (``assets.extra/tf_serving_warmup_requests``).
    ``MODEL_CARD.md`` is made from the same dict as ``seqtasks.json`` (one source). The
    SavedModel, the card and ``seqtasks.json`` are written into a temporary sibling directory
    that is renamed into place only when complete, so a reader never sees half an export.
    """
    import keras

    root = Path(root)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ModelError(f"{root}: cannot create export directory ({e.strerror})") from None
    version = (versions(root) or [0])[-1] + 1
    target = root / str(version)
    with atomic_dir(target) as tmp:
        # ExportArchive (not tf.saved_model.save on a tf.Module) so that the TF1 loader used by
        # saved_model_cli and TF Serving finds every variable.
        archive = keras.export.ExportArchive()
        archive.track(model)
        for resource in resources:
            archive.track(resource)
        for name, fn in signatures.items():
            archive.add_endpoint(name, fn)
        archive.write_out(str(tmp), verbose=False)
        for name, source in asset_files.items():
            shutil.copyfile(source, tmp / "assets" / name)
        warmup = write_warmup_requests(tmp, warmup_examples, model_name=root.name)
        full = {
            **metadata,
            "version": version,
            "signatures": sorted(signatures),
            "warmup": warmup,
            "exported_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "library_versions": library_versions(),
        }
        # The card first: seqtasks.json, written last, marks a complete version folder.
        write_model_card(tmp, json.loads(json.dumps(full, default=str)))
        (tmp / METADATA_FILE).write_text(json.dumps(full, indent=2, default=str) + "\n")
    return target
