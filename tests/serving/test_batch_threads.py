"""Batches of one signature run ``batch_threads`` at a time (TF Serving's num_batch_threads),
and requests that arrive while every batch thread is busy form the next batch together."""

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from seqtasks.serving.batcher import MicroBatcher
from seqtasks.serving.codec import DecodedInputs


class SlowDoubler:
    """A stand-in signature: doubles ``x``, taking ``seconds`` per call; records how many calls
    ran at once and each call's rows."""

    name, batchable = "serving_default", True
    inputs, outputs = {"x": None}, {"y": None}

    def __init__(self, seconds: float):
        self.seconds, self.running, self.peak, self.rows = seconds, 0, 0, []
        self._lock = threading.Lock()

    def __call__(self, arrays):
        with self._lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
            self.rows.append(len(arrays["x"]))
        time.sleep(self.seconds)
        with self._lock:
            self.running -= 1
        return {"y": arrays["x"] * 2}


def request(value: float) -> DecodedInputs:
    return DecodedInputs({"x": np.array([value])}, {}, 1)


async def serve(batcher: MicroBatcher, values: list[float]) -> list[float]:
    answers = await asyncio.gather(*(batcher.predict(request(v)) for v in values))
    await batcher.close()
    return [float(answer["y"][0]) for answer in answers]


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_batches_run_as_many_at_once_as_there_are_batch_threads(threads):
    signature = SlowDoubler(0.1)
    with ThreadPoolExecutor(4) as executor:
        batcher = MicroBatcher(signature, executor, max_batch_size=1, timeout_s=0.0,
                               batch_threads=threads)
        answers = asyncio.run(serve(batcher, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]))
    assert answers == [2.0, 4.0, 6.0, 8.0, 10.0, 12.0]
    assert signature.peak == threads and batcher.batches == 6


def test_requests_that_wait_for_a_busy_thread_share_the_next_batch():
    signature = SlowDoubler(0.2)

    async def scenario(batcher):
        first = asyncio.ensure_future(batcher.predict(request(1.0)))
        await asyncio.sleep(0.1)  # the first batch is running: the next five queue meanwhile
        rest = [asyncio.ensure_future(batcher.predict(request(v))) for v in range(5)]
        await asyncio.gather(first, *rest)
        await batcher.close()

    with ThreadPoolExecutor(2) as executor:
        asyncio.run(scenario(MicroBatcher(signature, executor, max_batch_size=8,
                                          timeout_s=0.0, batch_threads=1)))
    assert signature.rows == [1, 5]
