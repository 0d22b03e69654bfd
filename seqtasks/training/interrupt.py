"""Ctrl-C while training stops at the next batch boundary, never inside a TensorFlow op.

Python raises ``KeyboardInterrupt`` wherever the main thread happens to be: inside Keras' fit
loop between a step and its callbacks, in a tf.data iterator's teardown, in a summary writer. The
process may then die on a signal on its way out (SIGSEGV, or SIGINT when a second Ctrl-C lands in
the first one's clean-up) instead of exiting with the message that the run can be resumed.

Inside ``graceful()`` (``fit`` enters it) the first Ctrl-C only sets a flag and says so;
``seqtasks.training.callbacks.StopWhenInterrupted`` raises ``KeyboardInterrupt`` at the next batch end, from Python, where
Keras unwinds cleanly and the last finished epoch's backup stays for a resume. A second Ctrl-C
raises at once, as Python's own handler would.

A command-line process calls ``install_for_process(on_repeat=...)`` once: then every Ctrl-C after
the first (during the clean-up, or while a batch runs for a long time) ends the process at once
with ``on_repeat``'s message and exit status 130, without the interpreter's teardown. The files a
resume needs are written atomically (``seqtasks.training.backup``), so stopping there loses
nothing that a resume reads.

No Keras or TensorFlow import here: the command line installs the handler before it knows
whether the command needs TensorFlow.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading

_requested = threading.Event()
_state = {"active": 0, "presses": 0, "on_repeat": None}


def _on_sigint(signum, frame):
    _state["presses"] += 1
    if _state["presses"] > 1 and _state["on_repeat"] is not None:
        sys.stderr.write(_state["on_repeat"] + "\n")
        sys.stderr.flush()
        os._exit(130)
    if _state["active"] and not _requested.is_set():
        _requested.set()
        sys.stderr.write("stopping at the end of this batch (Ctrl-C again to stop at once)\n")
        sys.stderr.flush()
        return
    raise KeyboardInterrupt


def _can_install() -> bool:
    # signal.signal works in the main thread only; a SIGINT that is ignored (a shell's background
    # job) or handled by the host application (another handler) is left as it is.
    return (threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGINT) is signal.default_int_handler)


def install_for_process(on_repeat: str) -> None:
    """Handle SIGINT for the whole process (a command-line entry point calls this once)."""
    if _can_install():
        _state["on_repeat"] = on_repeat
        signal.signal(signal.SIGINT, _on_sigint)


@contextlib.contextmanager
def graceful():
    """Within this block the first Ctrl-C asks ``StopWhenInterrupted`` to stop training."""
    installed_here = _can_install()
    previous = signal.signal(signal.SIGINT, _on_sigint) if installed_here else None
    handled = installed_here or signal.getsignal(signal.SIGINT) is _on_sigint
    if handled:
        _requested.clear()
        if installed_here:
            _state["presses"] = 0
        _state["active"] += 1
    try:
        yield
    finally:
        if handled:
            _state["active"] -= 1
        if installed_here:
            signal.signal(signal.SIGINT, previous)


def requested() -> bool:
    return _requested.is_set()

