"""Model calls that stop at a deadline, so a request that asks for too much work frees its worker.

A version runs in a ``Session``; TensorFlow stops a ``Session`` run (its loops included) when the
run's ``RunOptions.timeout_in_ms`` passes and raises ``DeadlineExceededError``. The timeout is
part of a callable's options, so one callable is made per timeout bucket (a power of two of
milliseconds, rounded up: a call stops at most twice its deadline after it starts, and a
signature gets a handful of callables, each optimised once).
"""

from __future__ import annotations

import math
import threading

import numpy as np

from seqtasks.serving.models import Signature, numpy_dtype

SMALLEST_BUCKET_MS = 64


def timeout_bucket_ms(timeout_s: float) -> int:
    """The smallest power of two of milliseconds (>= SMALLEST_BUCKET_MS) not under the timeout."""
    wanted = max(1.0, timeout_s * 1000.0)
    return max(SMALLEST_BUCKET_MS, 2 ** math.ceil(math.log2(wanted)))


class TimedSignature:
    """``signature`` called with a timeout; without a session (or a timeout), as it is."""

    def __init__(self, signature: Signature, session=None):
        self.signature, self.session = signature, session
        self._feeds, self._fetches = sorted(signature.inputs), sorted(signature.outputs)
        self._callables: dict[int, object] = {}
        self._lock = threading.Lock()

    def __call__(self, arrays: dict, timeout_s: float | None = None) -> dict:
        if self.session is None or timeout_s is None:
            return self.signature(arrays)
        call = self._callable(timeout_bucket_ms(timeout_s))
        values = call(*[np.asarray(arrays[key], dtype=numpy_dtype(self.signature.inputs[key]))
                        for key in self._feeds])
        return dict(zip(self._fetches, values))

    def _callable(self, timeout_ms: int):
        with self._lock:
            if timeout_ms not in self._callables:
                from tensorflow.core.protobuf import config_pb2

                # Fed as TF Serving feeds (no static-shape check), like Signature's own call.
                options = config_pb2.CallableOptions(
                    feed=[self.signature.inputs[key].tensor for key in self._feeds],
                    fetch=[self.signature.outputs[key].tensor for key in self._fetches])
                options.run_options.timeout_in_ms = timeout_ms
                self._callables[timeout_ms] = \
                    self.session._make_callable_from_options(options)  # noqa: SLF001
            return self._callables[timeout_ms]
