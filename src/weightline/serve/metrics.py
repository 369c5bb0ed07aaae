"""Prometheus metrics of the server, every series labelled with the exact version that answered.

Each server has its own CollectorRegistry (not the process-wide default), so an app built twice in
one process (tests, the benchmark) never collides. Labelled children are looked up once per
(version, role) and kept: the hot path does a dict lookup and a few `inc`/`observe` calls.

Series (all carry `version` and `role`, primary or canary):
  weightline_requests_total                 every /predict request
  weightline_request_errors_total{kind}     invalid_input (422) or model_error (500)
  weightline_request_latency_seconds        histogram, body read to response built
  weightline_prediction_probability{output} histogram of probability outputs, one per row
  weightline_prediction_value{output}       histogram of other numeric outputs, one per row
  weightline_predicted_label_total{output,label}   counts of each label a classifier gave
  weightline_served_info{sha256}            1 for each version serving now, 0 once swapped out
  weightline_swaps_total{result}            swapped or refused, by role (no version label)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest

LATENCY_BUCKETS = (
    0.0005,
    0.001,
    0.002,
    0.003,
    0.005,
    0.0075,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    10.0,
)
PROBABILITY_BUCKETS = tuple(round(0.05 * i, 2) for i in range(1, 21))
# Regression outputs: 1-2-5 steps over twelve decades, both signs (the unit is the user's).
_STEPS = [m * 10.0**e for e in range(-4, 7) for m in (1, 2, 5)]
VALUE_BUCKETS = tuple(sorted({-s for s in _STEPS} | {0.0} | set(_STEPS)))
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4


def buckets_for(output: str) -> tuple[float, ...]:
    """Probabilities get 0.05-wide buckets on [0, 1]; anything else a wide log scale."""
    return PROBABILITY_BUCKETS if output.startswith("probability") else VALUE_BUCKETS


@dataclass
class _Children:
    requests: Any
    latency: Any
    invalid: Any
    failed: Any
    outputs: dict[str, Any]
    labels: dict[tuple[str, str], Any]


class ServeMetrics:
    """The server's metrics and their text exposition."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        labels = ("version", "role")
        self.requests = Counter(
            "weightline_requests", "Prediction requests", labels, registry=self.registry
        )
        self.errors = Counter(
            "weightline_request_errors",
            "Prediction requests that failed: invalid_input (422) or model_error (500)",
            (*labels, "kind"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "weightline_request_latency_seconds",
            "Time from reading the body to the response, per request",
            labels,
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.probability = Histogram(
            "weightline_prediction_probability",
            "Distribution of probability outputs, one observation per row",
            (*labels, "output"),
            buckets=PROBABILITY_BUCKETS,
            registry=self.registry,
        )
        self.value = Histogram(
            "weightline_prediction_value",
            "Distribution of other numeric outputs, one observation per row",
            (*labels, "output"),
            buckets=VALUE_BUCKETS,
            registry=self.registry,
        )
        self.label = Counter(
            "weightline_predicted_label",
            "Labels a classifier gave, one per row",
            (*labels, "output", "label"),
            registry=self.registry,
        )
        self.info = Gauge(
            "weightline_served_info",
            "1 for each version serving now (by role), 0 once swapped out",
            (*labels, "sha256"),
            registry=self.registry,
        )
        self.swaps = Counter(
            "weightline_swaps",
            "Attempts to follow a stage: swapped, or refused (the old version kept serving)",
            ("role", "result"),
            registry=self.registry,
        )
        self._children: dict[tuple[str, str], _Children] = {}

    def _for(self, version: str, role: str) -> _Children:
        key = (version, role)
        found = self._children.get(key)
        if found is None:
            found = _Children(
                requests=self.requests.labels(version, role),
                latency=self.latency.labels(version, role),
                invalid=self.errors.labels(version, role, "invalid_input"),
                failed=self.errors.labels(version, role, "model_error"),
                outputs={},
                labels={},
            )
            self._children[key] = found
        return found

    def answered(self, version: str, role: str, seconds: float, rows: list[dict[str, Any]]) -> None:
        """A request answered: count it, time it, and add its outputs to the distributions."""
        children = self._for(version, role)
        children.requests.inc()
        children.latency.observe(seconds)
        for row in rows:
            for name, value in row.items():
                if isinstance(value, float | int) and not isinstance(value, bool):
                    histogram = children.outputs.get(name)
                    if histogram is None:
                        family = self.probability if name.startswith("probability") else self.value
                        histogram = children.outputs[name] = family.labels(version, role, name)
                    histogram.observe(value)
                else:
                    key = (name, str(value))
                    counter = children.labels.get(key)
                    if counter is None:
                        counter = children.labels[key] = self.label.labels(
                            version, role, name, str(value)
                        )
                    counter.inc()

    def refused(self, version: str, role: str, seconds: float, kind: str) -> None:
        """A request that got an error (kind: invalid_input or model_error)."""
        children = self._for(version, role)
        children.requests.inc()
        children.latency.observe(seconds)
        (children.invalid if kind == "invalid_input" else children.failed).inc()

    def serving(self, version: str, role: str, sha256: str, now: bool) -> None:
        self.info.labels(version, role, sha256).set(1 if now else 0)

    def swap(self, role: str, result: str) -> None:
        self.swaps.labels(role, result).inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
