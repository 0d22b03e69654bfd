"""Micro-batching: concurrent requests for one signature share one model call.

A batch closes when it holds ``max_batch_size`` examples or ``timeout_s`` after its first request
arrived, whichever comes first; requests are never split. Up to ``batch_threads`` batches of a
signature run at once (TF Serving's ``num_batch_threads``); while all of them are busy, the
queue fills the next batch. Only requests whose inputs can be
concatenated share a call (same trailing shapes, equal unbatched inputs), and only for signatures
whose outputs all have the batch dimension. A request is validated before it joins a batch, and
when a shared call fails, each of its requests is run alone so that only the culprit gets the
error: one bad request never fails the others. Each request carries a deadline (monotonic
seconds): a call runs until the latest deadline of its group and no longer (``TimedSignature``),
and a request whose client went away or whose deadline passed before its call is not run.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from concurrent.futures import Executor

import numpy as np

from seqtasks.serving.codec import DecodedInputs
from seqtasks.serving.errors import RejectedInstance, Unavailable
from seqtasks.serving.models import Signature
from seqtasks.serving.timed_call import TimedSignature

log = logging.getLogger("seqtasks.serving")


@dataclasses.dataclass
class _Pending:
    inputs: DecodedInputs
    future: asyncio.Future
    deadline: float | None = None  # time.monotonic() after which no one waits for the answer


def _group_key(inputs: DecodedInputs) -> tuple:
    """Requests with equal keys can be concatenated along dimension 0."""
    trailing = tuple((name, array.shape[1:]) for name, array in sorted(inputs.batched.items()))
    fixed = tuple((name, array.shape, tuple(array.ravel().tolist()))
                  for name, array in sorted(inputs.unbatched.items()))
    return trailing, fixed


class MicroBatcher:
    """Queues requests for one signature and runs them in batches on ``executor``."""

    def __init__(self, signature: Signature, executor: Executor, max_batch_size: int,
                 timeout_s: float, observe_batch=None, session=None,
                 max_enqueued_batches: int = 0, allowed_batch_sizes: tuple[int, ...] = (),
                 batch_threads: int = 1):
        self.signature = signature
        self.call = TimedSignature(signature, session)
        self.observe_batch = observe_batch  # called with the examples of each model call
        self.executor = executor
        self.max_batch_size = max_batch_size
        self.timeout_s = timeout_s
        self.queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._carried: _Pending | None = None
        self._collecting = False  # a batch is being collected
        self.batch_threads = max(1, batch_threads)
        self._running: set[asyncio.Task] = set()  # batches being run
        self._task: asyncio.Task | None = None
        self.max_queued_rows = max_enqueued_batches * max_batch_size  # 0: unbounded
        self.allowed_batch_sizes = allowed_batch_sizes
        self._queued_rows = 0
        self.batches = 0  # batches formed so far (requests / batches = mean requests per batch)
        self.requests = 0

    async def predict(self, inputs: DecodedInputs, deadline: float | None = None
                      ) -> dict[str, np.ndarray]:
        """The signature's outputs for this request's examples, computed before ``deadline``
        (``time.monotonic()`` seconds) or not at all."""
        return await self.submit(inputs, deadline)

    def submit(self, inputs: DecodedInputs, deadline: float | None = None) -> asyncio.Future:
        """Queue the request; its future gets the outputs. A future that is done (cancelled,
        or failed by the caller at its deadline) before its batch runs is left out of it."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._serve_batches())
        if self.max_queued_rows and self._queued_rows + inputs.rows > self.max_queued_rows:
            raise Unavailable(f"the batching queue of signature '{self.signature.name}' is full "
                              f"({self._queued_rows} examples waiting, max_enqueued_batches x "
                              "max_batch_size); retry later, or raise max_enqueued_batches")
        future = asyncio.get_running_loop().create_future()
        self._queued_rows += inputs.rows
        self.queue.put_nowait(_Pending(inputs, future, deadline))
        return future

    async def close(self) -> None:
        """Stop after the requests already queued have been answered."""
        if self._task is None:
            return
        log.info("signature '%s': %d requests in %d batches", self.signature.name,
                 self.requests, self.batches)
        while self._collecting or self._running or self._carried is not None \
                or not self.queue.empty():
            await asyncio.sleep(0.001)
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass

    async def _serve_batches(self) -> None:
        loop = asyncio.get_running_loop()
        free = asyncio.Semaphore(self.batch_threads)
        while True:
            await free.acquire()  # the next batch forms once a batch thread is free
            try:
                batch = await self._collect()
            except BaseException:
                free.release()
                raise
            task = loop.create_task(self._run_batch(loop, batch))
            self._running.add(task)
            self._collecting = False
            task.add_done_callback(lambda done: (self._running.discard(done), free.release()))

    async def _run_batch(self, loop, batch: list[_Pending]) -> None:
        self.batches += 1
        self.requests += len(batch)
        groups: dict[tuple, list[_Pending]] = {}
        for pending in batch:
            groups.setdefault(_group_key(pending.inputs), []).append(pending)
        for group in groups.values():
            group = [pending for pending in group if not pending.future.done()]
            if not group:  # every client of this group went away
                continue
            if self.observe_batch is not None:
                self.observe_batch(sum(pending.inputs.rows for pending in group))
            try:
                results = await loop.run_in_executor(self.executor, self._run_group, group)
            except Exception as error:  # noqa: BLE001  top-level guard: the loop must live
                log.exception("model call failed unexpectedly")
                results = [error] * len(group)
            for pending, result in zip(group, results):
                if pending.future.done():
                    continue
                if isinstance(result, Exception):
                    pending.future.set_exception(result)
                else:
                    pending.future.set_result(result)

    async def _collect(self) -> list[_Pending]:
        first = self._carried or self._taken(await self.queue.get())
        self._carried, self._collecting = None, True
        batch, rows = [first], first.inputs.rows
        deadline = time.monotonic() + self.timeout_s
        while rows < self.max_batch_size:
            if self.queue.empty():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    pending = self._taken(await asyncio.wait_for(self.queue.get(), remaining))
                except asyncio.TimeoutError:
                    break
            else:
                pending = self._taken(self.queue.get_nowait())
            if rows + pending.inputs.rows > self.max_batch_size:
                self._carried = pending
                break
            batch.append(pending)
            rows += pending.inputs.rows
        return batch

    def _taken(self, pending: _Pending) -> _Pending:
        self._queued_rows -= pending.inputs.rows
        return pending

    def _run_group(self, group: list[_Pending]) -> list:
        """Runs in the executor: one call for the group, or one per request if that fails."""
        import tensorflow as tf

        timeout_s = _time_left(group)
        if timeout_s is not None and timeout_s <= 0:
            return [tf.errors.DeadlineExceededError(None, None, "deadline passed in the queue")
                    ] * len(group)
        if len(group) > 1 and self.signature.batchable:
            try:
                return self._split(self._call_concatenated(group, timeout_s), group)
            except tf.errors.DeadlineExceededError as error:  # running them alone takes longer
                return [error] * len(group)
            except (tf.errors.OpError, _OutputNotBatched) as error:
                log.info("a shared batch of %d requests failed (%s); running them one by one",
                         len(group), str(error).splitlines()[0])
        results: list = []
        for pending in group:
            try:
                results.append(self._call_concatenated([pending], _time_left([pending])))
            except tf.errors.DeadlineExceededError as error:
                results.append(error)
            except tf.errors.OpError as error:
                results.append(self._locate(pending, error))
        return results

    def _locate(self, pending: _Pending, error: Exception) -> Exception:
        """The request's first example that fails on its own, so the client learns which one
        to fix; ``error`` when none does alone (or the signature cannot take single rows)."""
        import tensorflow as tf

        if pending.inputs.rows < 2 or not self.signature.batchable:
            return error
        for index in range(pending.inputs.rows):
            row = {name: array[index:index + 1] for name, array in pending.inputs.batched.items()}
            timeout_s = _time_left([pending])
            if timeout_s is not None and timeout_s <= 0:
                return error
            try:
                self.call({**row, **pending.inputs.unbatched}, timeout_s)
            except tf.errors.DeadlineExceededError:
                return error
            except tf.errors.OpError as row_error:
                return RejectedInstance(index, row_error)
        return error

    def _call_concatenated(self, group: list[_Pending], timeout_s: float | None = None
                           ) -> dict[str, np.ndarray]:
        arrays = {name: np.concatenate([pending.inputs.batched[name] for pending in group])
                  for name in group[0].inputs.batched}
        arrays.update(group[0].inputs.unbatched)
        rows = sum(pending.inputs.rows for pending in group)
        padded = next((size for size in self.allowed_batch_sizes if size >= rows), rows)
        if padded == rows or not self.signature.batchable:
            return self.call(arrays, timeout_s)
        # TF Serving's allowed_batch_sizes: pad with copies of the first example (fewer shapes
        # to optimise for), then drop the padding's outputs
        for name in group[0].inputs.batched:
            filler = np.repeat(arrays[name][:1], padded - rows, axis=0)
            arrays[name] = np.concatenate([arrays[name], filler])
        outputs = self.call(arrays, timeout_s)
        return {name: array[:rows] if array.ndim and array.shape[0] == padded else array
                for name, array in outputs.items()}

    @staticmethod
    def _split(outputs: dict[str, np.ndarray], group: list[_Pending]) -> list[dict]:
        total = sum(pending.inputs.rows for pending in group)
        misaligned = [name for name, array in outputs.items()
                      if array.ndim == 0 or array.shape[0] != total]
        if misaligned:
            raise _OutputNotBatched(misaligned[0], total)
        results, start = [], 0
        for pending in group:
            end = start + pending.inputs.rows
            results.append({name: array[start:end] for name, array in outputs.items()})
            start = end
        return results


def _time_left(group: list[_Pending]) -> float | None:
    """Seconds until the latest deadline of the group (None: no deadline)."""
    deadlines = [pending.deadline for pending in group]
    if any(deadline is None for deadline in deadlines):
        return None
    return max(deadlines) - time.monotonic()


class _OutputNotBatched(Exception):
    """Raised when a shared call's output lacks the batch dimension (a signature whose output
    spec promised it); the group is then run request by request."""

    def __init__(self, name: str, rows: int):
        super().__init__(f"output '{name}' does not have {rows} rows")
