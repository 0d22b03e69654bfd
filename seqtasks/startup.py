"""Starting TensorFlow quietly, for command-line programs (the ``seqtasks`` command, the
quickstart): no C++ start-up chatter on the user's terminal."""

from __future__ import annotations

import os
import sys


def quiet_tensorflow() -> None:
    """Import TensorFlow with its C++ start-up chatter (CUDA probing, oneDNN notes) silenced.

    Those lines are written to file descriptor 2 before any log level applies, so stderr is
    pointed at /dev/null for the duration of the import only.
    """
    # 3 also hides C++ "E" lines such as oneDNN's DT_BOOL notice; real failures still raise.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow
        import tensorflow_text  # noqa: F401

        tensorflow.config.list_physical_devices()  # CUDA probing happens here, silenced
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
