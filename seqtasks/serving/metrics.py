"""Prometheus metrics (prometheus_client), served at ``/monitoring/prometheus/metrics`` as TF
Serving does: requests by model, signature, API and status, their latency, and batch sizes;
followed by TF Serving's own metrics under its names (``tf_serving_metrics``).

Each server has its own registry, so several servers in one process (tests) do not mix counts.
"""

from __future__ import annotations

import threading
from typing import Callable

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

from seqtasks.serving.tf_serving_metrics import TFServingMetrics

LATENCY_BUCKETS_S = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


class ServingMetrics:
    def __init__(self):
        self.registry = CollectorRegistry(auto_describe=True)
        labels = ("model", "signature", "api", "protocol")
        self.requests = Counter(
            "seqtasks_serving_requests", "Requests answered, by outcome (canonical status code)",
            (*labels, "code"), registry=self.registry)
        self.latency = Histogram(
            "seqtasks_serving_request_latency_seconds",
            "Time from a request's arrival to its answer", labels,
            buckets=LATENCY_BUCKETS_S, registry=self.registry)
        self.batch_size = Histogram(
            "seqtasks_serving_batch_size", "Examples per model call (after micro-batching)",
            ("model", "signature"), buckets=BATCH_BUCKETS, registry=self.registry)
        self.versions = LoadedVersions()
        self.registry.register(self.versions)
        self.tf_serving = TFServingMetrics()

    def observe(self, model: str, signature: str, api: str, protocol: str, code: str,
                seconds: float) -> None:
        self.requests.labels(model, signature, api, protocol, code).inc()
        self.latency.labels(model, signature, api, protocol).observe(seconds)
        self.tf_serving.request(model, api, protocol, code, seconds)

    def text(self) -> bytes:
        return generate_latest(self.registry) + self.tf_serving.text().encode("utf-8")


class LoadedVersions:
    """``seqtasks_serving_loaded_versions{model}``, read from the served models at each scrape
    rather than set on each change, so it cannot go stale: a model added by a live config change
    counts from the moment it is served, whatever order the change was reported in. A model no
    longer served reads 0 (dashboards see it go, rather than its series vanish)."""

    NAME, HELP = "seqtasks_serving_loaded_versions", "Versions loaded now"

    def __init__(self):
        self._models: Callable[[], dict] = dict  # name -> ServedModel; set by watch()
        self._seen: set[str] = set()
        self._lock = threading.Lock()  # scrapes may run at once

    def watch(self, models: Callable[[], dict]) -> None:
        """Count the versions of ``models()`` (name -> ServedModel) from now on."""
        self._models = models

    def counts(self) -> dict[str, int]:
        current = {name: len(model.loaded) for name, model in self._models().items()}
        with self._lock:
            self._seen |= set(current)
            return {name: current.get(name, 0) for name in sorted(self._seen)}

    def describe(self):
        return [GaugeMetricFamily(self.NAME, self.HELP, labels=("model",))]

    def collect(self):
        family = GaugeMetricFamily(self.NAME, self.HELP, labels=("model",))
        for name, count in self.counts().items():
            family.add_metric((name,), count)
        yield family
