"""What REST and gRPC share: the models, one micro-batcher per version and signature, the
inference threads, the metrics, and the translation of model errors into request errors.

Both front ends run on the same asyncio loop, so a REST and a gRPC request for the same signature
can share one model call.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor

from seqtasks.serving.batcher import MicroBatcher
from seqtasks.serving.codec import DecodedInputs
from seqtasks.serving.errors import NotFound, RejectedInstance, RequestError, ServingError
from seqtasks.serving.manager import ModelManager
from seqtasks.serving.metrics import ServingMetrics
from seqtasks.serving.models import LoadedVersion, ServedModel, Signature

log = logging.getLogger("seqtasks.serving")


@dataclasses.dataclass
class ServerConfig:
    max_batch_size: int = 128       # examples per model call, and per request
    batch_timeout_ms: float = 2.0   # how long a batch waits for company after its first request
    max_body_bytes: int = 16 * 2**20
    inference_threads: int = max(1, min(4, os.cpu_count() or 1))  # model calls at once


class ModelRunError(ServingError):
    """The model failed on a request with a TF error other than a bad argument."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def op_error_text(error) -> str:
    """The op's own message from a TF error (not 'Graph execution error:' or node names)."""
    lines = [line.strip() for line in error.message.splitlines()]
    useful = [line for line in lines if line and not line.startswith(("[[", "<stack traces"))
              and not line.startswith(("Graph execution error", "Detected at node"))]
    return useful[-1] if useful else type(error).__name__


@dataclasses.dataclass
class RequestRecord:
    """One request's labels for the metrics, filled in as the request is understood."""

    model: str
    api: str
    protocol: str
    signature: str = ""


class ServingCore:
    def __init__(self, manager: ModelManager, config: ServerConfig = ServerConfig()):
        self.manager, self.config = manager, config
        self.metrics = ServingMetrics()
        self.executor: ThreadPoolExecutor | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._closing: set[asyncio.Task] = set()
        # (model, version, signature) -> (the LoadedVersion it runs, its batcher); per server,
        # as batchers live on this server's loop and threads.
        self._batchers: dict[tuple[str, int, str], tuple[LoadedVersion, MicroBatcher]] = {}

    @property
    def models(self) -> dict[str, ServedModel]:
        return self.manager.models

    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.executor = ThreadPoolExecutor(self.config.inference_threads,
                                           thread_name_prefix="inference")
        self.manager.on_change = self._versions_changed
        for name, model in self.models.items():
            self.metrics.versions.labels(name).set(len(model.loaded))
        self.manager.start_polling()

    async def stop(self) -> None:
        self.manager.stop()
        for _, batcher in list(self._batchers.values()):
            await batcher.close()  # kept: their counts stay readable after the stop
        for task in list(self._closing):
            await task
        self.executor.shutdown(wait=True)

    def _versions_changed(self, name: str, loaded: list, removed: list[LoadedVersion]) -> None:
        """From the poller thread: count versions; stop the batchers of unloaded versions (they
        finish the requests already queued first)."""
        self.metrics.versions.labels(name).set(len(self.models[name].loaded))
        if self.loop is None:
            return
        for version in removed:
            self.loop.call_soon_threadsafe(self._schedule_close, version)

    def _schedule_close(self, loaded: LoadedVersion) -> None:
        task = self.loop.create_task(self._close_batchers(loaded))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def _close_batchers(self, loaded: LoadedVersion) -> None:
        for key, (owner, batcher) in list(self._batchers.items()):
            if owner is loaded:
                await batcher.close()
                if self._batchers.get(key, (None,))[0] is loaded:
                    del self._batchers[key]

    def model(self, name: str) -> ServedModel:
        if name not in self.models:
            raise NotFound(f"model '{name}' not found; this server has: "
                           f"{', '.join(sorted(self.models))}")
        return self.models[name]

    @contextlib.contextmanager
    def record(self, model: str, api: str, protocol: str):
        """Times a request and counts it by outcome once answered (or failed)."""
        record, start, code = RequestRecord(model, api, protocol), time.perf_counter(), "OK"
        try:
            yield record
        except ServingError as error:
            code = error.code
            raise
        except Exception:
            code = "INTERNAL"
            raise
        finally:
            if model in self.models:  # unknown names would let clients grow the label set
                self.metrics.observe(model, record.signature, api, protocol, code,
                                     time.perf_counter() - start)

    async def run(self, model: str, loaded: LoadedVersion, signature: Signature,
                  inputs: DecodedInputs, unit: str = "instance") -> dict:
        """The signature's outputs for one request, through its micro-batcher. ``unit`` names an
        example in the error for one the model rejects ("instance", "example")."""
        import tensorflow as tf

        key = (model, loaded.version, signature.name)
        owner, batcher = self._batchers.get(key, (None, None))
        if owner is not loaded:  # none yet, or one of an unloaded version of that number
            histogram = self.metrics.batch_size.labels(model, signature.name)
            batcher = MicroBatcher(signature, self.executor, self.config.max_batch_size,
                                   self.config.batch_timeout_ms / 1000.0, histogram.observe)
            self._batchers[key] = (loaded, batcher)
        try:
            return await batcher.predict(inputs)
        except RejectedInstance as rejected:
            raise RequestError(f"the model rejected {unit} {rejected.index} (counting from 0): "
                               f"{op_error_text(rejected.error)}") from None
        except tf.errors.InvalidArgumentError as error:
            raise RequestError(f"the model rejected the input: {op_error_text(error)}") from None
        except tf.errors.OpError as error:
            from tensorflow.core.protobuf import error_codes_pb2

            code = error_codes_pb2.Code.Name(error.error_code)
            raise ModelRunError(code, f"the model failed: {op_error_text(error)}") from None

    @property
    def batchers(self) -> dict[tuple[str, int, str], MicroBatcher]:
        """(model, version, signature) -> its batcher, for the versions loaded now."""
        return {key: batcher for key, (_, batcher) in self._batchers.items()}
