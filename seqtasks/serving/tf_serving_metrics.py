"""TF Serving's own metrics, named and written as its Prometheus exporter writes them, so that
dashboards and alerts built on ``tensorflow_model_server`` keep working:

    :tensorflow:serving:request_count{model_name,status}              counter
    :tensorflow:serving:request_latency{model_name,API,entrypoint}    histogram, microseconds
    :tensorflow:serving:runtime_latency{model_name,API,runtime}       histogram, microseconds
    :tensorflow:serving:model_warmup_latency{model_path,status}       histogram, microseconds
    :tensorflow:serving:model_warmup_records_read{model_path,status}  counter

Names are TF's ``/tensorflow/serving/...`` with every character outside [a-zA-Z0-9_] made ':'
(tensorflow_serving/util/prometheus_exporter.cc); buckets are TF's ``Exponential(10, 1.8, 33)``
(tensorflow_serving/servables/tensorflow/util.cc), counted as TF's histograms count (a value
goes to the first bucket whose limit is above it), numbers written as absl's StrCat writes them
(six significant digits). prometheus_client cannot write a counter without ``_total``, hence this
small writer of its own.
"""

from __future__ import annotations

import bisect
import threading

LATENCY_LIMITS_US = tuple(10 * 1.8**i for i in range(33))
COUNTERS = {
    ":tensorflow:serving:request_count": ("model_name", "status"),
    ":tensorflow:serving:model_warmup_records_read": ("model_path", "status"),
}
HISTOGRAMS = {
    ":tensorflow:serving:request_latency": ("model_name", "API", "entrypoint"),
    ":tensorflow:serving:runtime_latency": ("model_name", "API", "runtime"),
    ":tensorflow:serving:model_warmup_latency": ("model_path", "status"),
}


def _number(value: float) -> str:
    """absl::StrCat(double): %g with six significant digits."""
    return f"{value:.6g}"


def _label_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


class TFServingMetrics:
    def __init__(self):
        self._lock = threading.Lock()
        self._counts: dict[str, dict[tuple, int]] = {name: {} for name in COUNTERS}
        # name -> labels -> (bucket counts, sum)
        self._histograms: dict[str, dict[tuple, list]] = {name: {} for name in HISTOGRAMS}

    def count(self, name: str, labels: tuple[str, ...], amount: int = 1) -> None:
        with self._lock:
            cells = self._counts[name]
            cells[labels] = cells.get(labels, 0) + amount

    def observe_us(self, name: str, labels: tuple[str, ...], microseconds: float) -> None:
        with self._lock:
            cell = self._histograms[name].setdefault(
                labels, [[0] * (len(LATENCY_LIMITS_US) + 1), 0.0])
            cell[0][bisect.bisect_right(LATENCY_LIMITS_US, microseconds)] += 1
            cell[1] += microseconds

    def request(self, model: str, api: str, protocol: str, code: str, seconds: float) -> None:
        """One answered request (TF Serving records its latency only when it succeeded)."""
        api = api if protocol == "rest" else api.capitalize()
        self.count(":tensorflow:serving:request_count", (model, code))
        if code == "OK":
            self.observe_us(":tensorflow:serving:request_latency",
                            (model, api, protocol.upper()), seconds * 1e6)

    def runtime(self, model: str, api: str, protocol: str, seconds: float) -> None:
        api = api if protocol == "rest" else api.capitalize()
        self.observe_us(":tensorflow:serving:runtime_latency", (model, api, "TF1"),
                        seconds * 1e6)

    def warmup(self, model_path: str, status: str, records: int, seconds: float) -> None:
        self.count(":tensorflow:serving:model_warmup_records_read", (model_path, status),
                   records)
        self.observe_us(":tensorflow:serving:model_warmup_latency", (model_path, status),
                        seconds * 1e6)

    def text(self) -> str:
        lines: list[str] = []
        with self._lock:
            for name, cells in self._counts.items():
                if not cells:
                    continue
                lines.append(f"# TYPE {name} counter")
                for labels, value in sorted(cells.items()):
                    lines.append(f"{name}{{{self._labels(COUNTERS[name], labels)}}} {value}")
            for name, cells in self._histograms.items():
                if not cells:
                    continue
                lines.append(f"# TYPE {name} histogram")
                for labels, (buckets, total) in sorted(cells.items()):
                    text = self._labels(HISTOGRAMS[name], labels)
                    cumulative = 0
                    for index, count in enumerate(buckets):
                        cumulative += count
                        limit = _number(LATENCY_LIMITS_US[index]) \
                            if index < len(LATENCY_LIMITS_US) else "+Inf"
                        lines.append(f'{name}_bucket{{{text},le="{limit}"}} {cumulative}')
                    lines.append(f"{name}_sum{{{text}}} {_number(total)}")
                    lines.append(f"{name}_count{{{text}}} {cumulative}")
        return "".join(line + "\n" for line in lines)

    @staticmethod
    def _labels(names: tuple[str, ...], values: tuple[str, ...]) -> str:
        return ",".join(f'{name}="{_label_value(value)}"' for name, value in zip(names, values))
