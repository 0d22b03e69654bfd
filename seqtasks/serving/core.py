"""What REST and gRPC share: the models, one micro-batcher per version and signature, the
inference threads, the metrics, and the translation of model errors into request errors.

Both front ends run on the same asyncio loop, so a REST and a gRPC request for the same signature
can share one model call.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import dataclasses
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor

from seqtasks.serving.batcher import MicroBatcher
from seqtasks.serving.codec import DecodedInputs
from seqtasks.serving.errors import (DeadlineExceeded, NotFound, RejectedInstance, RequestError,
                                     ServingError)
from seqtasks.serving.limits import RequestLimits
from seqtasks.serving.manager import ModelManager
from seqtasks.serving.metrics import ServingMetrics
from seqtasks.serving.models import LoadedVersion, ServedModel, Signature

log = logging.getLogger("seqtasks.serving")
# The request being answered on this task (REST or gRPC), so that its model calls are timed
# under its labels (TF Serving's runtime_latency).
_current_record: contextvars.ContextVar = contextvars.ContextVar("serving_record", default=None)


@dataclasses.dataclass
class ServerConfig:
    max_batch_size: int = 128       # examples per model call, and per request
    batch_timeout_ms: float = 2.0   # how long a batch waits for company after its first request
    max_body_bytes: int = 16 * 2**20
    inference_threads: int = max(1, min(4, os.cpu_count() or 1))  # model calls at once
    # TF Serving's --rest_api_timeout_in_ms: every request's deadline (gRPC clients may set a
    # sooner one); its model call is stopped there too. 0: no deadline.
    timeout_ms: int = 30_000
    limits: RequestLimits = RequestLimits()
    shutdown_grace_s: float = 10.0  # on SIGTERM: in-flight requests get this long, then stop
    # TF Serving's BatchingParameters: a signature's queue holds at most this many batches
    # (then UNAVAILABLE; 0: unbounded), and a batch is padded up to the next allowed size.
    max_enqueued_batches: int = 0
    allowed_batch_sizes: tuple[int, ...] = ()
    # Worker processes of one server share its REST and gRPC ports (SO_REUSEPORT: the kernel
    # spreads connections over them); off, a port another process holds is an error.
    reuse_port: bool = False
    # gRPC servers listening on the one gRPC port, in the one event loop (SO_REUSEPORT: the
    # kernel spreads connections over them). A grpc.aio server accepts one new call at a time,
    # each a round trip through its poller thread, so a single one caps the calls a second;
    # several accept side by side (bench/results/serving-grpc-listeners.json).
    grpc_listeners: int = 64


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
        self.metrics.versions.watch(lambda: self.manager.models)  # read at each scrape
        # Before the first load (seqtasks serve and seqtasks-model-server alike): the warmup
        # of the versions loaded at start counts too.
        self.manager.on_warmup = self.metrics.tf_serving.warmup
        self.manager.warmup_timeout_s = config.timeout_ms / 1000.0 or None  # as requests run
        self.executor: ThreadPoolExecutor | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._closing: set[asyncio.Task] = set()
        self._shutdown_at: float | None = None  # time.monotonic() when the grace period ends
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
        self.manager.start_polling()

    def begin_shutdown(self) -> None:
        """Start the grace period (on SIGTERM/SIGINT; idempotent)."""
        if self._shutdown_at is None:
            self._shutdown_at = time.monotonic() + self.config.shutdown_grace_s

    def grace_left(self) -> float:
        """Seconds left of the grace period (all of it when shutdown has not begun)."""
        if self._shutdown_at is None:
            return self.config.shutdown_grace_s
        return max(0.0, self._shutdown_at - time.monotonic())

    async def stop(self) -> None:
        """Answer what is queued and running within the grace period; then stop the model calls
        still running (closing a Session cancels its runs), so shutdown takes a bounded time."""
        self.begin_shutdown()
        self.manager.stop()
        # kept in self._batchers: their counts stay readable after the stop
        waits = [asyncio.ensure_future(batcher.close()) for _, batcher in self._batchers.values()]
        waits += list(self._closing)
        if waits:
            _, running = await asyncio.wait(waits, timeout=self.grace_left())
            if running:
                log.warning("shutdown: model calls still running after the %.1f s grace period "
                            "(--shutdown-grace-s); stopping them", self.config.shutdown_grace_s)
                self._cancel_model_calls()
                await asyncio.wait(running)
        self.executor.shutdown(wait=True)

    def _cancel_model_calls(self) -> None:
        for model in self.models.values():
            for loaded in list(model.loaded.values()):
                loaded.close()
        for loaded in list(self.manager.retired):
            loaded.close()

    def _versions_changed(self, name: str, loaded: list, removed: list[LoadedVersion]) -> None:
        """From the poller thread: stop the batchers of unloaded versions (they finish the
        requests already queued first). The loaded-versions gauge reads the models when
        scraped, so it needs nothing here."""
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
        token = _current_record.set(record)
        try:
            yield record
        except ServingError as error:
            code = error.code
            raise
        except Exception:
            code = "INTERNAL"
            raise
        finally:
            _current_record.reset(token)
            if model in self.models:  # unknown names would let clients grow the label set
                self.metrics.observe(model, record.signature, api, protocol, code,
                                     time.perf_counter() - start)

    def deadline(self, client_timeout_s: float | None = None) -> float | None:
        """A request's deadline (``time.monotonic()`` seconds) from now: the server's timeout
        or the client's, whichever is sooner; None when neither is set."""
        timeouts = [t for t in (client_timeout_s, self.config.timeout_ms / 1000.0 or None)
                    if t is not None]
        return time.monotonic() + min(timeouts) if timeouts else None

    def _deadline_error(self) -> DeadlineExceeded:
        return DeadlineExceeded(
            f"deadline exceeded: the request was not answered within its deadline (the "
            f"server's {self.config.timeout_ms} ms, --rest_api_timeout_in_ms, or the gRPC "
            "client's, if sooner); ask for less work or allow more time")

    async def run(self, model: str, loaded: LoadedVersion, signature: Signature,
                  inputs: DecodedInputs, unit: str = "instance",
                  deadline: float | None = None) -> dict:
        """The signature's outputs for one request, through its micro-batcher, answered before
        ``deadline`` (``time.monotonic()`` seconds; the model call stops there too). ``unit``
        names an example in the error for one the model rejects ("instance", "example")."""
        import tensorflow as tf

        key = (model, loaded.version, signature.name)
        owner, batcher = self._batchers.get(key, (None, None))
        if owner is not loaded:  # none yet, or one of an unloaded version of that number
            histogram = self.metrics.batch_size.labels(model, signature.name)
            batcher = MicroBatcher(signature, self.executor, self.config.max_batch_size,
                                   self.config.batch_timeout_ms / 1000.0, histogram.observe,
                                   loaded.session, self.config.max_enqueued_batches,
                                   self.config.allowed_batch_sizes,
                                   self.config.inference_threads)
            self._batchers[key] = (loaded, batcher)
        started = time.perf_counter()
        future = batcher.submit(inputs, deadline)
        # a timer that fails the future at the deadline: half the cost of asyncio.wait_for,
        # which wraps each request in a task of its own
        timer = None if deadline is None else asyncio.get_running_loop().call_later(
            max(0.0, deadline - time.monotonic()), _expire, future)
        try:
            outputs = await future
            record = _current_record.get()
            if record is not None:
                self.metrics.tf_serving.runtime(model, record.api, record.protocol,
                                                time.perf_counter() - started)
            return outputs
        except asyncio.TimeoutError:
            raise self._deadline_error() from None
        except tf.errors.DeadlineExceededError:
            raise self._deadline_error() from None
        except RejectedInstance as rejected:
            raise RequestError(f"the model rejected {unit} {rejected.index} (counting from 0): "
                               f"{op_error_text(rejected.error)}") from None
        except tf.errors.InvalidArgumentError as error:
            raise RequestError(f"the model rejected the input: {op_error_text(error)}") from None
        except tf.errors.OpError as error:
            from tensorflow.core.protobuf import error_codes_pb2

            code = error_codes_pb2.Code.Name(error.error_code)
            raise ModelRunError(code, f"the model failed: {op_error_text(error)}") from None
        finally:
            if timer is not None:
                timer.cancel()

    @property
    def batchers(self) -> dict[tuple[str, int, str], MicroBatcher]:
        """(model, version, signature) -> its batcher, for the versions loaded now."""
        return {key: batcher for key, (_, batcher) in self._batchers.items()}


def _expire(future: asyncio.Future) -> None:
    """At a request's deadline: its waiter gets TimeoutError, and its batcher skips it."""
    if not future.done():
        future.set_exception(asyncio.TimeoutError())
