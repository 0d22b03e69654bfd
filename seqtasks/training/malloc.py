"""glibc's malloc set up for training: the memory a step frees stays mapped for the next step.

A training step allocates and frees the same large buffers every time: activations, gradients,
RNN workspaces, megabytes each. glibc's defaults return the free top of each heap to the kernel
as soon as it exceeds 128 KiB (``M_TOP_PAD``), so the next step page-faults that memory back in,
zero-filled. Without this module the char LSTM trained at 0.771x the speed it reaches with it
(``bench/lm_throughput.py``, the ``+glibc_default`` lever; PyTorch gains from the same setting
too). ``keep_freed_memory`` sets a top pad of 64 MiB, the size of a thread arena's heap, and the
mmap threshold to its maximum, 32 MiB. Setting the top pad switches off glibc's sliding
threshold, so without that second setting every block over 128 KiB would be mapped afresh. The
process then keeps what it has used: a little more resident memory.

The settings are process-wide and apply only on glibc (Linux). A user who sets
``MALLOC_TOP_PAD_`` or ``MALLOC_MMAP_THRESHOLD_`` keeps their own: glibc reads those variables
at start, and this module then leaves malloc alone.
"""

from __future__ import annotations

import ctypes
import os
import sys

TOP_PAD_BYTES = 64 << 20  # HEAP_MAX_SIZE: a thread arena's whole heap may stay mapped
MMAP_THRESHOLD_BYTES = 32 << 20  # the most glibc accepts on 64-bit (HEAP_MAX_SIZE / 2)
_M_TOP_PAD, _M_MMAP_THRESHOLD = -2, -3  # <malloc.h>
USER_VARIABLES = ("MALLOC_TOP_PAD_", "MALLOC_MMAP_THRESHOLD_")


def keep_freed_memory() -> str:
    """Apply the settings above; returns what malloc runs with, for the training summary:
    ``"top_pad=64MiB,mmap_threshold=32MiB"``, ``"user environment"`` or ``"system default"``
    (not glibc)."""
    if any(name in os.environ for name in USER_VARIABLES):
        return "user environment"
    if not sys.platform.startswith("linux"):
        return "system default"
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return "system default"
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    # musl and other libcs without these parameters answer 0: nothing changed.
    if not (mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) and
            mallopt(_M_TOP_PAD, TOP_PAD_BYTES)):
        return "system default"
    return f"top_pad={TOP_PAD_BYTES >> 20}MiB,mmap_threshold={MMAP_THRESHOLD_BYTES >> 20}MiB"
