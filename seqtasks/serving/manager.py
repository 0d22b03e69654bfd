"""Which versions are served, kept in step with the disk like TF Serving's file-system poller.

Each model's base path is scanned (at start, then every ``poll_seconds``); the versions its policy
wants are loaded, then swapped in together, and only then are the ones no longer wanted taken out
(TF Serving's availability-preserving order: a model never has zero versions during a change).
A taken-out version is closed once the requests holding it have been answered. A version that
fails to load is logged, reported in the model status, and tried again on the next scans (up to
MAX_LOAD_ATTEMPTS times, then again once its saved_model.pb changes).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from pathlib import Path

from seqtasks.errors import ModelError
from seqtasks.serving.models import (LoadedVersion, ServedModel, SessionThreads, VersionPolicy,
                                     parse_model_argument, saved_model_file, version_dirs)

log = logging.getLogger("seqtasks.serving")

DEFAULT_POLL_SECONDS = 1.0  # TF Serving's --file_system_poll_wait_seconds default
MAX_LOAD_ATTEMPTS = 5  # TF Serving's --max_num_load_retries is 5 too


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    name: str
    base_path: Path
    policy: VersionPolicy = VersionPolicy()
    labels: tuple[tuple[str, int], ...] = ()


def specs_from_arguments(arguments: list[str], all_versions: bool = False) -> list[ModelSpec]:
    """``[NAME=]DIR`` arguments: a base path (newest version, or all) or one version directory."""
    specs: dict[str, ModelSpec] = {}
    for argument in arguments:
        name, path = parse_model_argument(argument)
        if name in specs:
            raise ModelError(f"two models are named '{name}' ({specs[name].base_path} and "
                             f"{path}); name them with NAME=DIR")
        if not path.is_dir():
            raise ModelError(f"{path}: model directory not found")
        if path.name.isdigit() and not version_dirs(path):  # one version directory
            spec = ModelSpec(name, path.parent, VersionPolicy("specific",
                                                              specific=(int(path.name),)))
        else:
            spec = ModelSpec(name, path, VersionPolicy("all") if all_versions else VersionPolicy())
        if not spec.policy.choose(list(version_dirs(spec.base_path))):
            raise ModelError(f"{path}: no SavedModel versions (expected {path}/<version>/"
                             "saved_model.pb, e.g. the --out directory of 'seqtasks train')")
        specs[name] = spec
    return list(specs.values())


class ModelManager:
    """The served models, and the poller that keeps their versions in step with the disk."""

    def __init__(self, specs: list[ModelSpec], poll_seconds: float = 0.0,
                 threads: SessionThreads | None = None):
        self.threads = threads or SessionThreads()  # every version's session gets these
        self.models = {spec.name: ServedModel(spec.name, spec.base_path, spec.policy,
                                              dict(spec.labels)) for spec in specs}
        self.poll_seconds = poll_seconds
        self.retired: list[LoadedVersion] = []  # unloaded, waiting for their requests to end
        self._retired_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.on_change = None  # called with (model name, loaded versions, unloaded versions)
        self._attempts: dict[tuple[str, int], tuple[tuple, int]] = {}  # failed loads so far

    @classmethod
    def of(cls, models: dict[str, ServedModel]) -> "ModelManager":
        """A manager of models loaded already (no polling)."""
        manager = cls([])
        manager.models = dict(models)
        return manager

    def load_initial(self) -> None:
        """The first scan; a model with no loadable version is an error (the server would be
        useless for it), naming why."""
        self.sync()
        for model in self.models.values():
            if not model.loaded:
                reasons = "; ".join(model.failed.values()) or "no version matches its policy"
                raise ModelError(f"model '{model.name}' ({model.base_path}): no version could "
                                 f"be loaded: {reasons}")

    def sync(self) -> None:
        """One scan of every base path."""
        for model in self.models.values():
            self._sync_model(model)
        self.close_idle()

    def _sync_model(self, model: ServedModel) -> None:
        on_disk = version_dirs(model.base_path)
        wanted = model.policy.choose(list(on_disk))
        current = model.loaded
        fresh: dict[int, LoadedVersion] = {}
        failed = dict(model.failed)  # replaced as a whole below: readers see one or the other
        for version in wanted:
            if version in current or not self._may_try(model.name, version, on_disk[version]):
                continue
            try:
                fresh[version] = LoadedVersion.load(on_disk[version], version, self.threads)
            except ModelError as error:
                if failed.get(version) != str(error):
                    log.error("model '%s' version %d: %s", model.name, version, error)
                failed[version] = str(error)
                continue
            failed.pop(version, None)
            self._attempts.pop((model.name, version), None)
            log.info("model '%s': loaded version %d from %s", model.name, version,
                     on_disk[version])
        keep = {v: current[v] for v in wanted if v in current}
        new = {**keep, **fresh}
        if not new:  # no wanted version loads (yet): keep serving those still on disk
            new = {v: loaded for v, loaded in current.items() if v in on_disk}
        removed = [loaded for v, loaded in current.items() if v not in new]
        model.failed = {v: message for v, message in failed.items() if v in on_disk}
        if not fresh and not removed:
            return
        model.loaded = dict(sorted(new.items()))  # one assignment: requests see old or new
        for loaded in removed:
            loaded.retire()
            log.info("model '%s': unloading version %d", model.name, loaded.version)
            with self._retired_lock:
                self.retired.append(loaded)
        if self.on_change is not None:
            self.on_change(model.name, list(fresh.values()), removed)

    def _may_try(self, name: str, version: int, path: Path) -> bool:
        """A failing version is tried MAX_LOAD_ATTEMPTS times, then again only once its
        saved_model.pb changes (a version still being written, or fixed in place)."""
        stat = saved_model_file(path).stat()
        stamp = (stat.st_mtime_ns, stat.st_size)
        last_stamp, attempts = self._attempts.get((name, version), (stamp, 0))
        if last_stamp != stamp:
            attempts = 0
        if attempts >= MAX_LOAD_ATTEMPTS:
            return False
        self._attempts[(name, version)] = (stamp, attempts + 1)
        return True

    def close_idle(self) -> None:
        """Close the retired versions no request holds any more."""
        with self._retired_lock:
            idle = [loaded for loaded in self.retired if loaded.idle]
            self.retired = [loaded for loaded in self.retired if not loaded.idle]
        for loaded in idle:
            loaded.close()

    def start_polling(self) -> None:
        if self.poll_seconds <= 0 or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._poll, name="version-poller", daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self.sync()
            except Exception:  # noqa: BLE001  the poller must survive a bad scan
                log.exception("version scan failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
            self._thread = None
