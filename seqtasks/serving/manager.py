"""Which versions are served, kept in step with the disk like TF Serving's file-system poller.

Each model's base path is scanned (at start, then every ``poll_seconds``); the versions its policy
wants are loaded, then swapped in together, and only then are the ones no longer wanted taken out
(TF Serving's availability-preserving order). A taken-out version is closed once the requests
holding it have been answered.

What can go wrong on disk is reported, never raised: an entry that is not a version folder
(``export.layout.list_versions`` says why) and a version that fails to load appear in the model
status and are logged once; they never stop the scan of other versions or models. A failed
version is tried again as soon as any of its files changes, else on a back-off
(``serving.retry``). A ``latest`` policy walks down past versions that do not load, so a model
never has zero versions while a loadable one is on disk.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from pathlib import Path

from seqtasks.errors import ModelError
from seqtasks.export.layout import list_versions, version_number
from seqtasks.serving import heap
from seqtasks.serving.loaded import LoadedVersion, SessionThreads
from seqtasks.serving.retry import LoadRetry, folder_fingerprint
from seqtasks.serving.served import DiskReport, ServedModel, VersionPolicy, parse_model_argument
from seqtasks.serving.warmup import replay_warmup

log = logging.getLogger("seqtasks.serving")

DEFAULT_POLL_SECONDS = 1.0  # TF Serving's --file_system_poll_wait_seconds default


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
        number = version_number(path.name)
        if number is not None and not list_versions(path).versions:  # one version directory
            spec = ModelSpec(name, path.parent, VersionPolicy("specific", specific=(number,)))
        else:
            spec = ModelSpec(name, path, VersionPolicy("all") if all_versions else VersionPolicy())
        listing = list_versions(spec.base_path)
        if not spec.policy.choose(list(listing.versions)):
            skipped = "".join(f"; {entry.describe(spec.base_path)}"
                              for entry in listing.skipped[:3])
            raise ModelError(f"{path}: no SavedModel versions (expected {path}/<version>/"
                             "saved_model.pb, e.g. the --out directory of 'seqtasks train')"
                             f"{skipped}")
        specs[name] = spec
    return list(specs.values())


class ModelManager:
    """The served models, and the poller that keeps their versions in step with the disk."""

    def __init__(self, specs: list[ModelSpec], poll_seconds: float = 0.0,
                 threads: SessionThreads | None = None, retry: LoadRetry | None = None,
                 warmup: bool = True):
        self.threads = threads or SessionThreads()  # every version's session gets these
        self.warmup = warmup  # replay assets.extra/tf_serving_warmup_requests before serving
        self.on_warmup = None  # called with (version path, status, records, seconds)
        # The server's request deadline (None: none), so warmup runs the callables requests
        # use; the server sets it (default: TF Serving's --rest_api_timeout_in_ms, 30 s).
        self.warmup_timeout_s: float | None = 30.0
        self._sync_lock = threading.Lock()  # one scan or config change at a time
        self.models = {spec.name: ServedModel(spec.name, spec.base_path, spec.policy,
                                              dict(spec.labels)) for spec in specs}
        self.poll_seconds = poll_seconds
        self.retired: list[LoadedVersion] = []  # unloaded, waiting for their requests to end
        self._retired_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.on_change = None  # called with (model name, loaded versions, unloaded versions)
        self._retry = retry or LoadRetry()
        self._logged: dict[str, set[str]] = {}  # per model: disk problems logged already
        self._heap_changes = {"loaded": False, "closed": False}  # since the last heap.settle

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
                reasons = [status["status"]["error_message"]
                           for status in model.report.statuses(model.base_path)]
                raise ModelError(f"model '{model.name}' ({model.base_path}): no version could "
                                 f"be loaded: "
                                 f"{'; '.join(reasons[:3]) or 'no version matches its policy'}")

    def sync(self) -> None:
        """One scan of every base path; a model's trouble never stops the others' scans."""
        with self._sync_lock:
            self._sync_all()
            self._settle_heap()

    def apply_specs(self, specs: list[ModelSpec]) -> None:
        """A new model config, applied live: added models are loaded before they are listed,
        changed ones get their new policy and labels (new versions load before old ones go),
        removed ones stop taking requests and are closed once their requests are answered."""
        with self._sync_lock:
            wanted = {spec.name: spec for spec in specs}
            models = dict(self.models)
            for name, spec in wanted.items():
                model = models.get(name)
                if model is None or model.base_path != spec.base_path:
                    model = ServedModel(name, spec.base_path, spec.policy, dict(spec.labels))
                    self._sync_model(model)
                else:
                    model.policy, model.labels = spec.policy, dict(spec.labels)
                models[name] = model
            removed = [model for name, model in self.models.items()
                       if name not in wanted or models[name] is not model]
            self.models = {name: models[name] for name in wanted}  # one assignment
            for model in removed:
                log.info("model '%s': removed by the model config", model.name)
                self._retire(model, list(model.loaded.values()))
            self._sync_all()
            self._settle_heap()

    def _settle_heap(self) -> None:
        """Freeze what the loads left (and let closed versions' cycles go): full garbage
        collections then skip TensorFlow's millions of objects (see serving/heap.py)."""
        if self._heap_changes["loaded"] or self._heap_changes["closed"]:
            heap.settle(released=self._heap_changes["closed"])
            self._heap_changes = {"loaded": False, "closed": False}

    def _retire(self, model: ServedModel, versions: list[LoadedVersion]) -> None:
        for loaded in versions:
            loaded.retire()
            log.info("model '%s': unloading version %d", model.name, loaded.version)
            with self._retired_lock:
                self.retired.append(loaded)
        if versions and self.on_change is not None:
            self.on_change(model.name, [], versions)

    def _sync_all(self) -> None:
        for model in self.models.values():
            try:
                self._sync_model(model)
            except (OSError, ValueError, ModelError) as error:  # a race no check foresaw
                message = f"{model.base_path}: scan failed ({type(error).__name__}: {error})"
                log.error("model '%s': %s", model.name, message)
                model.report = dataclasses.replace(model.report, scan_error=message)
        self.close_idle()

    def _sync_model(self, model: ServedModel) -> None:
        listing = list_versions(model.base_path)
        current = model.loaded
        if listing.error:  # nothing is known about the versions: keep serving what is loaded
            model.report = DiskReport(model.report.failed, (), listing.error)
            self._log_once(model, [listing.error])
            return
        self._log_once(model, [entry.describe(model.base_path) for entry in listing.skipped])
        candidates = dict(listing.versions)
        for version, loaded in current.items():  # a loaded version stays while its folder does
            if version not in candidates and loaded.path.is_dir():
                candidates[version] = loaded.path
        served, fresh, failed = self._walk(model, candidates, current)
        if not served:  # nothing wanted loads: keep serving those still on disk
            served = {v: loaded for v, loaded in current.items() if v in candidates}
        self._retry.keep_only(model.name, set(candidates))
        removed = [loaded for v, loaded in current.items() if v not in served]
        if fresh or removed:
            model.loaded = dict(sorted(served.items()))  # one assignment: requests see old or new
        model.report = DiskReport(failed, listing.skipped)
        for loaded in removed:
            loaded.retire()
            log.info("model '%s': unloading version %d", model.name, loaded.version)
            with self._retired_lock:
                self.retired.append(loaded)
        if (fresh or removed) and self.on_change is not None:
            self.on_change(model.name, list(fresh.values()), removed)

    def _walk(self, model: ServedModel, candidates: dict[int, Path],
              current: dict[int, LoadedVersion]) -> tuple[dict, dict, dict[int, str]]:
        """The policy's versions, best first, until it has as many as it wants: those loaded
        already, those that load now, and why the others passed over did not."""
        order, limit = model.policy.preference(list(candidates))
        served: dict[int, LoadedVersion] = {}
        fresh: dict[int, LoadedVersion] = {}
        failed: dict[int, str] = {}
        for version in order:
            if limit is not None and len(served) >= limit:
                break
            if version in current:
                served[version] = current[version]
                continue
            path = candidates[version]
            if not self._retry.due((model.name, version), path):
                failed[version] = model.report.failed.get(version, "failed to load; will retry")
                continue
            fingerprint = folder_fingerprint(path)  # before loading: a change during it counts
            try:
                loaded = LoadedVersion.load(path, version, self.threads)
                self._warm_up(loaded)
            except ModelError as error:
                self._retry.failed((model.name, version), fingerprint)
                if model.report.failed.get(version) != str(error):
                    log.error("model '%s' version %d: %s", model.name, version, error)
                failed[version] = str(error)
                continue
            self._retry.forget((model.name, version))
            served[version] = fresh[version] = loaded
            self._heap_changes["loaded"] = True
            log.info("model '%s': loaded version %d from %s", model.name, version, path)
        return served, fresh, failed

    def _warm_up(self, loaded: LoadedVersion) -> None:
        """Replay the version's warmup records before it is served (a failure fails the load,
        as in TF Serving)."""
        if not self.warmup:
            return
        started = time.perf_counter()
        try:
            records = replay_warmup(loaded, self.warmup_timeout_s)
        except ModelError:
            loaded.close()
            if self.on_warmup is not None:
                self.on_warmup(str(loaded.path), "FAILED_PRECONDITION", 0,
                               time.perf_counter() - started)
            raise
        if records:
            log.info("%s: replayed %d warmup records", loaded.path, records)
            if self.on_warmup is not None:
                self.on_warmup(str(loaded.path), "OK", records, time.perf_counter() - started)
        loaded.warmup_records = records

    def _log_once(self, model: ServedModel, problems: list[str]) -> None:
        """Log each disk problem of a model when it first appears (again if it comes back)."""
        seen = self._logged.get(model.name, set())
        for problem in problems:
            if problem not in seen:
                log.warning("model '%s': %s", model.name, problem)
        self._logged[model.name] = set(problems)

    def close_idle(self) -> None:
        """Close the retired versions no request holds any more."""
        with self._retired_lock:
            idle = [loaded for loaded in self.retired if loaded.idle]
            self.retired = [loaded for loaded in self.retired if not loaded.idle]
        for loaded in idle:
            loaded.close()
        if idle:
            self._heap_changes["closed"] = True

    def start_polling(self) -> None:
        if self.poll_seconds <= 0 or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._poll, name="version-poller", daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self.sync()
            except Exception:  # noqa: BLE001  the poller outlives any one bad scan (or on_change)
                log.exception("version scan failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
            self._thread = None


def load_models(arguments: list[str], all_versions: bool = False) -> dict[str, ServedModel]:
    """Load every ``[NAME=]DIR`` argument now (no polling); names must be unique."""
    manager = ModelManager(specs_from_arguments(arguments, all_versions))
    manager.load_initial()
    return manager.models
