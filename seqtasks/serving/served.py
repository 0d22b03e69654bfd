"""A served model: its name, base path, version policy and labels, the versions loaded now, and
what it reports about the others (versions that failed to load, entries skipped on disk).

``loaded`` and the reports are replaced as a whole (never mutated) by the poller, so a request or
a status call always sees one consistent set; a request holds its version (``use``) until it is
answered.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
from pathlib import Path

from seqtasks.errors import ModelError
from seqtasks.export.layout import SkippedEntry, list_versions, version_number
from seqtasks.serving.errors import NotFound, RequestError
from seqtasks.serving.loaded import LoadedVersion

# What a REST path segment (/v1/models/NAME:predict) carries as it is: no '/', ':', space,
# control character, percent-escape or dot-segment ('.', '..').
MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
MAX_MODEL_NAME = 255
NAME_RULE = ("a model name must be non-empty, at most 255 characters of letters, digits, '.', "
             "'_' and '-', starting with a letter or digit, so that the REST path "
             "/v1/models/NAME carries it")
MAX_REPORTED = 20  # problem entries in one status answer; the rest are counted in the last one
NO_VERSION = -1  # the status "version" of an entry that names no version ('²', '-1', '.tmp')


def model_name_problem(name: str) -> str:
    """'' for a name the REST and gRPC APIs can both carry, else the rule it breaks."""
    if len(name) <= MAX_MODEL_NAME and MODEL_NAME.fullmatch(name):
        return ""
    return f"model name {name!r} is not usable: {NAME_RULE}"


@dataclasses.dataclass(frozen=True)
class VersionPolicy:
    """TF Serving's model_version_policy: the newest ``count``, all, or ``specific`` versions."""

    kind: str = "latest"  # latest | all | specific
    count: int = 1
    specific: tuple[int, ...] = ()

    def choose(self, available: list[int]) -> list[int]:
        available = sorted(available)
        if self.kind == "all":
            return available
        if self.kind == "specific":
            return [v for v in available if v in self.specific]
        return available[-self.count:]

    def preference(self, available: list[int]) -> tuple[list[int], int | None]:
        """The versions to try, best first, and how many of them to serve (None: every one that
        loads). ``latest`` walks down past versions that do not load, so that a model keeps
        ``count`` versions while that many loadable ones are on disk."""
        if self.kind == "latest":
            return sorted(available, reverse=True), self.count
        return list(reversed(self.choose(available))), None


@dataclasses.dataclass(frozen=True)
class DiskReport:
    """What the last scan found wrong, by version: failed loads (the current error), skipped
    entries, and an error reading the base path itself."""

    failed: dict[int, str] = dataclasses.field(default_factory=dict)
    skipped: tuple[SkippedEntry, ...] = ()
    scan_error: str = ""

    def __bool__(self) -> bool:
        return bool(self.failed or self.skipped or self.scan_error)

    def statuses(self, base_path: Path) -> list[dict]:
        """ModelVersionStatus entries (END, with the reason), at most MAX_REPORTED."""
        entries = [(version, "UNKNOWN", message) for version, message in self.failed.items()]
        entries += [(NO_VERSION if s.version is None else s.version, "FAILED_PRECONDITION",
                     s.describe(base_path)) for s in self.skipped]
        entries.sort(key=lambda entry: entry[0])
        if self.scan_error:
            entries.insert(0, (NO_VERSION, "UNAVAILABLE", self.scan_error))
        if len(entries) > MAX_REPORTED:
            rest = len(entries) - MAX_REPORTED + 1
            entries = entries[:MAX_REPORTED - 1] + [
                (NO_VERSION, "FAILED_PRECONDITION",
                 f"{base_path}: {rest} more entries skipped or failed (see the server log)")]
        return [{"version": str(version), "state": "END",
                 "status": {"error_code": code, "error_message": message}}
                for version, code, message in entries]


class ServedModel:
    """A model name, its base path, policy and labels, the versions loaded now and the report
    on the rest."""

    def __init__(self, name: str, base_path: Path, policy: VersionPolicy = VersionPolicy(),
                 labels: dict[str, int] | None = None):
        self.name, self.base_path, self.policy = name, Path(base_path), policy
        self.labels = dict(labels or {})
        self.loaded: dict[int, LoadedVersion] = {}
        self.report = DiskReport()

    @property
    def failed(self) -> dict[int, str]:
        """Version -> why it did not load (the current error; gone once it loads)."""
        return self.report.failed

    @property
    def newest(self) -> int:
        return max(self.loaded)

    def resolve(self, version: int | None = None, label: str | None = None) -> LoadedVersion:
        loaded = self.loaded
        if label is not None:
            if label not in self.labels:
                raise RequestError(f"unrecognized version label '{label}' for model "
                                   f"'{self.name}' (labels: "
                                   f"{', '.join(sorted(self.labels)) or 'none'})")
            version = self.labels[label]
        if not loaded:
            raise NotFound(f"model '{self.name}' has no version loaded yet (base path "
                           f"{self.base_path}){self._why_none()}")
        if version is None:
            return loaded[max(loaded)]
        if version not in loaded:
            raise NotFound(f"model '{self.name}' has no served version {version}; served: "
                           f"{', '.join(map(str, sorted(loaded)))}"
                           f"{self._version_hint(version)}")
        return loaded[version]

    def _why_none(self) -> str:
        statuses = self.report.statuses(self.base_path)
        return f": {statuses[0]['status']['error_message']}" if statuses else ""

    def _version_hint(self, version: int) -> str:
        if version in self.report.failed:
            return f" (version {version} failed to load: {self.report.failed[version]})"
        if version in list_versions(self.base_path).versions and self.policy.kind == "latest":
            return " (serve older versions with --all-versions or a model_version_policy)"
        return ""

    @contextlib.contextmanager
    def use(self, version: int | None = None, label: str | None = None):
        """The version a request runs on, held (not closed by an unload) until it is answered."""
        while True:
            loaded = self.resolve(version, label)
            if loaded.acquire():
                break  # else it was retired between lookup and acquire: look again
        try:
            yield loaded
        finally:
            loaded.release()

    def status(self, version: int | None = None, label: str | None = None) -> dict:
        """TF Serving's GetModelStatusResponse as JSON: the served versions (AVAILABLE), then,
        for the whole model, what did not load or was skipped on disk (END, with the reason)."""
        report = self.report
        if version is not None or label is not None:
            chosen = [self.resolve(version, label).version]
        else:
            chosen = sorted(self.loaded)
            if not chosen and not report:
                raise NotFound(f"model '{self.name}' has no version loaded yet (base path "
                               f"{self.base_path})")
        statuses = [{"version": str(v), "state": "AVAILABLE",
                     "status": {"error_code": "OK", "error_message": ""}} for v in chosen]
        if version is None and label is None:
            statuses += report.statuses(self.base_path)
        return {"model_version_status": statuses}

    def metadata(self, version: int | None = None, label: str | None = None) -> dict:
        """TF Serving's GetModelMetadataResponse as JSON, plus ``seqtasks.json`` when present."""
        loaded = self.resolve(version, label)
        metadata: dict = {"signature_def": {"signature_def": loaded.signature_defs()}}
        if loaded.metadata:
            metadata["seqtasks"] = loaded.metadata
        return {"model_spec": {"name": self.name, "signature_name": "",
                               "version": str(loaded.version)},
                "metadata": metadata}


def parse_model_argument(argument: str) -> tuple[str, Path]:
    """``NAME=DIR`` or ``DIR`` (the name is then the base path's directory name)."""
    name, separator, directory = argument.partition("=")
    if not separator or Path(argument).exists():
        path = Path(argument)
        root = path.parent if version_number(path.name) is not None else path
        name = root.resolve().name
        if model_name_problem(name):
            raise ModelError(f"'{argument}': the model would be named {name!r} after its "
                             f"directory, but {NAME_RULE}: pass NAME={argument}")
        return name, path
    if model_name_problem(name):
        raise ModelError(f"'{argument}': {NAME_RULE}")
    return name, Path(directory)
