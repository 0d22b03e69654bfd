"""Keep Python's cyclic garbage collector off the request path of a serving process.

TensorFlow, Keras and a loaded SavedModel leave a few million objects tracked by the collector.
A full (generation 2) collection walks every one of them: 0.8-0.9 s on the 2-core test machine,
holding the GIL, so the event loop answers nothing meanwhile. Under load, the objects a request
leaves behind for a while (futures, buffers, metric samples) promote into generation 2 often
enough for several full collections a minute: that was the tail of the serving latency (p99 of
0.9 s at 1,300 requests/s, with 3.5 s of 10 s spent in collections).

``settle()`` runs after models are loaded: it collects what loading left behind, then freezes the
survivors (``gc.freeze``: a permanent generation the collector never walks), so later collections
walk only what requests allocate. Freed objects are still freed by reference counting; only
reference cycles among frozen objects would stay, so after a version is closed ``settle
(released=True)`` unfreezes first and collects everything once (one full walk per version
change, in the thread that changed it, instead of several a minute).
"""

from __future__ import annotations

import gc
import logging
import threading
import time

log = logging.getLogger("seqtasks.serving")
_lock = threading.Lock()  # the poller and a config reload may settle at the same time


def settle(released: bool = False) -> None:
    """Collect, then freeze what survives. ``released``: objects frozen earlier may be garbage
    now (a version was closed), so they are unfrozen and collected too."""
    with _lock:
        started = time.perf_counter()
        if released:
            gc.unfreeze()
        gc.collect()
        gc.freeze()
        # (not gc.get_freeze_count(): it walks the frozen list, 0.4 s here)
        log.debug("heap settled in %.3f s", time.perf_counter() - started)
