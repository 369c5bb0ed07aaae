"""Reading served metrics back: live figures per version, and a canary against the primary.

`weightline canary-report --url http://host:8000` scrapes /metrics of one or more servers (figures
of several servers are summed), groups every series by its `version` label, and compares each
other version with the primary: error rate, latency, the mean of each numeric output and how far
its distribution moved (PSI over the histogram buckets, the same measure `weightline drift` uses
for features), and label shares.
"""

from __future__ import annotations

import math
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from weightline.errors import WeightlineError

PSI_FLOOR = 1e-4  # an empty bucket on one side would make PSI infinite


@dataclass
class Histogram:
    buckets: dict[float, float] = field(default_factory=dict)  # le -> cumulative count
    total: float = 0.0
    count: float = 0.0

    @property
    def mean(self) -> float | None:
        return self.total / self.count if self.count else None

    def quantile(self, q: float) -> float | None:
        """Prometheus' histogram_quantile: linear inside the bucket that holds the rank."""
        if not self.count:
            return None
        rank = q * self.count
        lower, below = 0.0, 0.0
        for le in sorted(self.buckets):
            cumulative = self.buckets[le]
            if cumulative >= rank:
                if math.isinf(le):
                    return lower
                inside = cumulative - below
                return lower + (le - lower) * ((rank - below) / inside if inside else 1.0)
            lower, below = le, cumulative
        return lower

    def shares(self) -> dict[float, float]:
        """Each bucket's share of the observations (not cumulative)."""
        shares, below = {}, 0.0
        for le in sorted(self.buckets):
            shares[le] = (self.buckets[le] - below) / self.count if self.count else 0.0
            below = self.buckets[le]
        return shares


@dataclass
class Figures:
    """Everything the servers said about one version."""

    version: str
    roles: set[str] = field(default_factory=set)
    serving: set[str] = field(default_factory=set)
    requests: float = 0.0
    errors: dict[str, float] = field(default_factory=dict)
    latency: Histogram = field(default_factory=Histogram)
    outputs: dict[str, Histogram] = field(default_factory=dict)
    labels: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def error_rate(self) -> float | None:
        return sum(self.errors.values()) / self.requests if self.requests else None

    def summary(self) -> dict[str, Any]:
        def ms(value: float | None) -> float | None:
            return None if value is None else round(value * 1000, 3)

        return {
            "version": self.version,
            "roles": sorted(self.roles),
            "serving": sorted(self.serving),
            "requests": int(self.requests),
            "errors": {k: int(v) for k, v in sorted(self.errors.items())},
            "error_rate": _round(self.error_rate),
            "latency_ms": {
                "mean": ms(self.latency.mean),
                "p50": ms(self.latency.quantile(0.5)),
                "p99": ms(self.latency.quantile(0.99)),
            },
            "outputs": {
                name: {"mean": _round(h.mean), "count": int(h.count)}
                for name, h in sorted(self.outputs.items())
            },
            "labels": {name: _label_shares(counts) for name, counts in sorted(self.labels.items())},
        }


def _round(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(value, digits)


def _label_shares(counts: dict[str, float]) -> dict[str, float]:
    total = sum(counts.values())
    return {k: round(v / total, 6) for k, v in sorted(counts.items())} if total else {}


def fetch(url: str, timeout: float = 10.0) -> str:
    """The /metrics text of a server given by its base URL (or the /metrics URL itself)."""
    target = url if url.rstrip("/").endswith("/metrics") else url.rstrip("/") + "/metrics"
    try:
        with urllib.request.urlopen(target, timeout=timeout) as response:
            text: str = response.read().decode("utf-8", "replace")
            return text
    except (OSError, ValueError) as error:
        raise WeightlineError(
            f"cannot read metrics from {target}: {error} (is `weightline serve` running there?)"
        ) from None


def parse(texts: Iterable[str]) -> dict[str, Figures]:
    """version -> Figures, summed over every text (one per server)."""
    from prometheus_client.parser import text_string_to_metric_families

    figures: dict[str, Figures] = {}

    def of(labels: dict[str, str]) -> Figures:
        version = labels.get("version", "")
        found = figures.get(version)
        if found is None:
            found = figures[version] = Figures(version)
        if "role" in labels:
            found.roles.add(labels["role"])
        return found

    for text in texts:
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                labels, value, name = sample.labels, sample.value, sample.name
                if "version" not in labels:
                    continue
                if name == "weightline_requests_total":
                    of(labels).requests += value
                elif name == "weightline_request_errors_total":
                    errors = of(labels).errors
                    errors[labels["kind"]] = errors.get(labels["kind"], 0.0) + value
                elif name == "weightline_served_info" and value == 1:
                    of(labels).serving.add(labels["role"])
                elif name == "weightline_predicted_label_total":
                    counts = of(labels).labels.setdefault(labels["output"], {})
                    counts[labels["label"]] = counts.get(labels["label"], 0.0) + value
                elif name.startswith("weightline_request_latency_seconds"):
                    _add(of(labels).latency, name, labels, value)
                elif name.startswith(
                    ("weightline_prediction_probability", "weightline_prediction_value")
                ):
                    outputs = of(labels).outputs
                    _add(outputs.setdefault(labels["output"], Histogram()), name, labels, value)
    return figures


def _add(histogram: Histogram, name: str, labels: dict[str, str], value: float) -> None:
    if name.endswith("_bucket"):
        le = float(labels["le"])
        histogram.buckets[le] = histogram.buckets.get(le, 0.0) + value
    elif name.endswith("_sum"):
        histogram.total += value
    elif name.endswith("_count"):
        histogram.count += value


def psi(baseline: Histogram, candidate: Histogram) -> float | None:
    """Population stability index of two histograms over the same buckets."""
    if not baseline.count or not candidate.count:
        return None
    a, b = baseline.shares(), candidate.shares()
    total = 0.0
    for le in set(a) | set(b):
        p, q = max(a.get(le, 0.0), PSI_FLOOR), max(b.get(le, 0.0), PSI_FLOOR)
        total += (q - p) * math.log(q / p)
    return round(total, 6)


def compare(figures: dict[str, Figures]) -> dict[str, Any]:
    """Each version's live figures, and every non-primary version against the primary."""
    primary = next((f for f in figures.values() if "primary" in f.serving), None)
    if primary is None:  # nobody reports serving: the busiest version is the baseline
        primary = max(figures.values(), key=lambda f: f.requests, default=None)
    comparisons = []
    for other in figures.values():
        if primary is None or other is primary:
            continue
        rate, base = other.error_rate, primary.error_rate
        comparisons.append(
            {
                "candidate": other.version,
                "baseline": primary.version,
                "requests": int(other.requests),
                "share_of_requests": _round(
                    other.requests / (other.requests + primary.requests)
                    if other.requests + primary.requests
                    else None
                ),
                "error_rate_change": None
                if rate is None or base is None
                else round(rate - base, 6),
                "outputs": {
                    name: {
                        "mean_change": None
                        if histogram.mean is None
                        or name not in primary.outputs
                        or primary.outputs[name].mean is None
                        else _round(histogram.mean - primary.outputs[name].mean),  # type: ignore[operator]
                        "psi": psi(primary.outputs[name], histogram)
                        if name in primary.outputs
                        else None,
                    }
                    for name, histogram in sorted(other.outputs.items())
                },
            }
        )
    return {
        "primary": primary.version if primary else None,
        "versions": [f.summary() for f in sorted(figures.values(), key=lambda f: f.version)],
        "comparisons": comparisons,
    }


def report(urls: list[str]) -> dict[str, Any]:
    """`weightline canary-report`: scrape, group by version, compare."""
    result = compare(parse(fetch(url) for url in urls))
    if not result["versions"]:
        raise WeightlineError(f"{', '.join(urls)} served no predictions yet: nothing to compare")
    return {"urls": urls, **result}


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _percent(value: float | None, sign: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:+.2%}" if sign else f"{value:.2%}"


def table(result: dict[str, Any]) -> str:
    """The report for a terminal."""
    lines = [f"primary: {result['primary']}"]
    columns = ("VERSION", "ROLES", "REQUESTS", "ERROR RATE", "P50 MS", "P99 MS", "OUTPUT MEANS")
    rows = [columns]
    for v in result["versions"]:
        latency = v["latency_ms"]
        rows.append(
            (
                v["version"],
                ",".join(v["roles"]),
                str(v["requests"]),
                _percent(v["error_rate"]),
                _ms(latency["p50"]),
                _ms(latency["p99"]),
                " ".join(f"{k}={o['mean']}" for k, o in v["outputs"].items()),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(columns))]
    lines += [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    for c in result["comparisons"]:
        outputs = "".join(
            f"; {name}: mean {o['mean_change']:+g}, PSI {o['psi']}"
            for name, o in c["outputs"].items()
            if o["mean_change"] is not None
        )
        lines.append(
            f"{c['candidate']} against {c['baseline']}: {_percent(c['share_of_requests'])} of "
            f"requests, error rate {_percent(c['error_rate_change'], sign=True)}{outputs}"
        )
    return "\n".join(lines)
