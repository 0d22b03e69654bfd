"""``--model_config_file_poll_wait_seconds``: the model config file re-read while serving.

Every ``seconds`` the file is read; when its text changed, the new config is applied with
``ModelManager.apply_specs`` (models added, removed, policies and labels changed) without a
restart and without failing a request in flight. A file that does not parse is logged with its
file:line and the config in force stays, as TF Serving keeps its last good config.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from seqtasks.errors import DataError, ModelError
from seqtasks.serving.config_file import read_model_config
from seqtasks.serving.manager import ModelManager

log = logging.getLogger("seqtasks.serving")


class ConfigFileWatcher:
    def __init__(self, manager: ModelManager, path: str | Path, seconds: float):
        self.manager, self.path, self.seconds = manager, Path(path), seconds
        self._last_text = self._read()
        self._last_error = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _read(self) -> str | None:
        try:
            return self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None  # read_model_config says why, once the text is wanted

    def check(self) -> bool:
        """Apply the file if its text changed; True when a new config was applied."""
        text = self._read()
        if text == self._last_text and text is not None:
            return False
        try:
            specs = read_model_config(self.path)
            self.manager.apply_specs(specs)
        except (DataError, ModelError) as error:
            if str(error) != self._last_error:
                log.error("model config file not applied, the previous config stays: %s", error)
                self._last_error = str(error)
            return False
        self._last_text, self._last_error = text, ""
        log.info("model config file %s applied: %s", self.path,
                 ", ".join(spec.name for spec in specs))
        return True

    def start(self) -> None:
        if self.seconds <= 0 or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._poll, name="config-poller", daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.wait(self.seconds):
            try:
                self.check()
            except Exception:  # noqa: BLE001  the poller outlives any one bad reload
                log.exception("model config reload failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
            self._thread = None
