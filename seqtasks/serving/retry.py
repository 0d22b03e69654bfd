"""When to try loading a version again after it failed: at once when any file in its folder
changed (a version copied in pieces completes, or is fixed in place), else on a back-off that
doubles up to RETRY_MAX_SECONDS and never stops (a failing version costs a load now and then,
not a load every scan).
"""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path

RETRY_FIRST_SECONDS = 2.0
RETRY_MAX_SECONDS = 300.0
MAX_FINGERPRINT_FILES = 10_000  # a folder with more is fingerprinted by its first files and count


def folder_fingerprint(path: Path) -> tuple:
    """Names, sizes and modification times of every file under ``path`` (links not followed):
    equal fingerprints mean nothing was added, removed, rewritten or touched."""
    found: list[tuple[str, int, int]] = []
    count = 0
    for folder, subfolders, files in os.walk(path, onerror=lambda error: None):
        subfolders.sort()
        for name in sorted(files):
            count += 1
            if len(found) >= MAX_FINGERPRINT_FILES:
                continue
            full = os.path.join(folder, name)
            try:
                info = os.lstat(full)
            except OSError:  # vanished since the listing: part of what changed
                continue
            found.append((os.path.relpath(full, path), info.st_size, info.st_mtime_ns))
    return tuple(found), count


@dataclasses.dataclass
class _Failure:
    fingerprint: tuple
    failures: int
    next_try: float


class LoadRetry:
    """The failed versions of every model, keyed by (model name, version)."""

    def __init__(self, clock=time.monotonic, first: float = RETRY_FIRST_SECONDS,
                 maximum: float = RETRY_MAX_SECONDS):
        self._clock, self._first, self._maximum = clock, first, maximum
        self._failures: dict[tuple[str, int], _Failure] = {}

    def due(self, key: tuple[str, int], path: Path) -> bool:
        """True when ``key`` never failed, its files changed since, or its back-off is over."""
        failure = self._failures.get(key)
        if failure is None:
            return True
        return (folder_fingerprint(path) != failure.fingerprint
                or self._clock() >= failure.next_try)

    def failed(self, key: tuple[str, int], fingerprint: tuple) -> None:
        """Record a failed load of the files ``fingerprint`` (taken before the load began, so
        a change during the load makes the next scan try again)."""
        previous = self._failures.get(key)
        failures = 1 if previous is None or previous.fingerprint != fingerprint \
            else previous.failures + 1
        wait = min(self._first * 2 ** (failures - 1), self._maximum)
        self._failures[key] = _Failure(fingerprint, failures, self._clock() + wait)

    def forget(self, key: tuple[str, int]) -> None:
        self._failures.pop(key, None)

    def keep_only(self, name: str, versions: set[int]) -> None:
        """Forget model ``name``'s versions no longer on disk (one that comes back starts
        afresh)."""
        for key in [key for key in self._failures if key[0] == name and key[1] not in versions]:
            del self._failures[key]
