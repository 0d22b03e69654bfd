"""Model calls that stop at a deadline, so a request that asks for too much work frees its worker.

A version runs in a ``Session``; TensorFlow stops a ``Session`` run (its loops included) when the
run's ``RunOptions.timeout_in_ms`` passes and raises ``DeadlineExceededError``. The timeout is
part of a callable's options, so one callable is made per timeout bucket (a power of two of
milliseconds, rounded up: a call stops at most twice its deadline after it starts, and a
signature gets a handful of callables, each optimised once, kept on the ``Signature`` so that
the warmup replay warms the very callable requests then use).
"""

from __future__ import annotations

import math

import numpy as np

from seqtasks.serving.loaded import Signature, numpy_dtype

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

    def __call__(self, arrays: dict, timeout_s: float | None = None) -> dict:
        if self.session is None or timeout_s is None:
            return self.signature(arrays)
        call = self.signature.timed_callable(timeout_bucket_ms(timeout_s))
        values = call(*[np.asarray(arrays[key], dtype=numpy_dtype(self.signature.inputs[key]))
                        for key in self._feeds])
        return dict(zip(self._fetches, values))
