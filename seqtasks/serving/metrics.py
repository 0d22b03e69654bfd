"""Prometheus metrics (prometheus_client), served at ``/monitoring/prometheus/metrics`` as TF
Serving does: requests by model, signature, API and status, their latency, and batch sizes;
followed by TF Serving's own metrics under its names (``tf_serving_metrics``).

Each server has its own registry, so several servers in one process (tests) do not mix counts.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

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
        self.versions = Gauge(
            "seqtasks_serving_loaded_versions", "Versions loaded now", ("model",),
            registry=self.registry)
        self.tf_serving = TFServingMetrics()

    def observe(self, model: str, signature: str, api: str, protocol: str, code: str,
                seconds: float) -> None:
        self.requests.labels(model, signature, api, protocol, code).inc()
        self.latency.labels(model, signature, api, protocol).observe(seconds)
        self.tf_serving.request(model, api, protocol, code, seconds)

    def text(self) -> bytes:
        return generate_latest(self.registry) + self.tf_serving.text().encode("utf-8")
