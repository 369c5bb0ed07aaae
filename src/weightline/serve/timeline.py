"""The timeline: what went to which stage when (by whom, through which gate), merged with what
the servers actually answered, per version, over time.

This is the seed's "cross-reference the deployment time of v2.1 with the system logs" in one
place: the stage events come from the registry (`api.stage_history`), the served side from the
prediction logs (requests, error rate, latency and the outputs' means per version per time
bucket, plus each swap and refused swap the servers made). Rendered for the terminal, as JSON,
and as an HTML section (every value escaped) for `weightline report`.
"""

from __future__ import annotations

import html
import json
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class _Bucket:
    start: float
    version: str
    first: float = math.inf
    last: float = -math.inf
    requests: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)
    sums: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    labels: dict[str, dict[str, int]] = field(default_factory=dict)
    roles: set[str] = field(default_factory=set)

    def add(self, record: dict[str, Any]) -> None:
        t = float(record["t"])
        self.first, self.last = min(self.first, t), max(self.last, t)
        self.requests += 1
        if record.get("status") != 200:
            self.errors += 1
        latency = record.get("latency_ms")
        if isinstance(latency, int | float):
            self.latencies.append(float(latency))
        if isinstance(record.get("role"), str):
            self.roles.add(record["role"])
        outputs = record.get("output")
        for row in outputs if isinstance(outputs, list) else []:
            if not isinstance(row, dict):
                continue
            for name, value in row.items():
                if isinstance(value, bool) or not isinstance(value, int | float):
                    counts = self.labels.setdefault(str(name), {})
                    counts[str(value)] = counts.get(str(value), 0) + 1
                elif math.isfinite(value):
                    self.sums[name] = self.sums.get(name, 0.0) + value
                    self.counts[name] = self.counts.get(name, 0) + 1

    def entry(self) -> dict[str, Any]:
        """Placed at its first request, so it sorts after the swap that started it."""
        ordered = sorted(self.latencies)
        return {
            "t": self.first,
            "at": _iso(self.first),
            "kind": "served",
            "version": self.version,
            "roles": sorted(self.roles),
            "bucket": _iso(self.start),
            "until": _iso(self.last),
            "requests": self.requests,
            "errors": self.errors,
            "error_rate": round(self.errors / self.requests, 6) if self.requests else None,
            "latency_ms": {"p50": _quantile(ordered, 0.5), "p99": _quantile(ordered, 0.99)},
            "output_means": {
                name: round(total / self.counts[name], 6)
                for name, total in sorted(self.sums.items())
            },
            "labels": {
                name: {k: round(v / sum(c.values()), 6) for k, v in sorted(c.items())}
                for name, c in sorted(self.labels.items())
            },
        }


def _quantile(ordered: list[float], q: float) -> float | None:
    if not ordered:
        return None
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(epoch))


def parse_bucket(text: str) -> float:
    """`90s`, `10m`, `1h`, `1d` -> seconds."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    try:
        seconds = float(text[:-1]) * units[text[-1]] if text[-1] in units else float(text)
    except (ValueError, IndexError):
        seconds = math.nan
    if not math.isfinite(seconds) or seconds <= 0:
        from weightline.errors import WeightlineError

        raise WeightlineError(
            f"--bucket {text!r}: give a positive duration such as 30s, 10m, 1h or 1d"
        )
    return seconds


def build(
    history: list[dict[str, Any]],
    records: Iterable[dict[str, Any]],
    bucket: float = 3600.0,
    stage: str | None = None,
    since: float | None = None,
) -> dict[str, Any]:
    """Every entry, oldest first: stage events, swaps, refusals, and served buckets."""
    entries: list[dict[str, Any]] = []
    for row in history:
        if stage is not None and row.get("stage") != stage:
            continue
        t = row.get("at_epoch")
        if not isinstance(t, int | float) or (since is not None and t < since):
            continue
        entries.append(
            {
                "t": float(t),
                "at": _iso(float(t)),
                "kind": "stage",
                "stage": row.get("stage"),
                "assigned": bool(row.get("assigned")),
                "action": row.get("action"),
                "version": row.get("version"),
                "tag": row.get("tag"),
                "by": row.get("by"),
                "reason": row.get("reason") or None,
                "gate": _verdict(row.get("gate")),
            }
        )
    buckets: dict[tuple[float, str], _Bucket] = {}
    for record in records:
        t = float(record["t"])
        if since is not None and t < since:
            continue
        if record.get("event") in ("swap", "refused"):
            entries.append(_server_event(record))
            continue
        version = record.get("version")
        if not isinstance(version, str):
            continue
        start = math.floor(t / bucket) * bucket
        found = buckets.get((start, version))
        if found is None:
            found = buckets[(start, version)] = _Bucket(start, version)
        found.add(record)
    entries += [b.entry() for b in buckets.values()]
    order = {"stage": 0, "swap": 1, "refused": 1, "served": 2}
    entries.sort(key=lambda e: (e["t"], order.get(e["kind"], 3), str(e.get("version"))))
    return {"bucket_s": bucket, "entries": entries}


def _verdict(gate: Any) -> str | None:
    if not gate:
        return None
    try:
        report = json.loads(gate) if isinstance(gate, str) else gate
    except ValueError:
        return "unreadable"
    return str(report.get("verdict")) if isinstance(report, dict) else "unreadable"


def _server_event(record: dict[str, Any]) -> dict[str, Any]:
    t = float(record["t"])
    if record["event"] == "swap":
        return {
            "t": t,
            "at": _iso(t),
            "kind": "swap",
            "role": record.get("role"),
            "version": record.get("to"),
            "from": record.get("from"),
            "stage_tag": record.get("stage_tag"),
        }
    return {
        "t": t,
        "at": _iso(t),
        "kind": "refused",
        "role": record.get("role"),
        "version": record.get("version"),
        "kept": record.get("kept"),
        "reason": record.get("reason"),
    }


def describe(entry: dict[str, Any]) -> str:
    """One entry as a sentence (the text and HTML forms share it)."""
    kind = entry["kind"]
    if kind == "stage":
        verb = "gets" if entry["assigned"] else "leaves"
        parts = [f"{entry['stage']} {verb} {entry['version']} ({entry.get('action') or 'event'}"]
        parts.append(f" by {entry['by']}" if entry.get("by") else "")
        parts.append(f", gate {entry['gate']}" if entry.get("gate") else "")
        parts.append(f': "{entry["reason"]}"' if entry.get("reason") else "")
        return "".join(parts) + f") [{entry['tag']}]"
    if kind == "swap":
        was = f" (was {entry['from']})" if entry.get("from") else " (started)"
        return f"server: {entry['role']} now {entry['version'] or 'off'}{was}"
    if kind == "refused":
        return (
            f"server: REFUSED {entry['version']} as {entry['role']}, kept {entry.get('kept')}: "
            f"{entry.get('reason')}"
        )
    rate = "-" if entry["error_rate"] is None else f"{entry['error_rate']:.2%}"
    latency = entry["latency_ms"]
    means = ", ".join(f"{k} mean {v:g}" for k, v in entry["output_means"].items())
    labels = ", ".join(
        f"{name} " + " ".join(f"{k}:{v:.0%}" for k, v in shares.items())
        for name, shares in entry["labels"].items()
    )
    return (
        f"served {entry['version']} ({','.join(entry['roles']) or '?'}) to {entry['until']}: "
        f"{entry['requests']} requests, {rate} errors, p50 {latency['p50']} ms, "
        f"p99 {latency['p99']} ms"
        + (f", {means}" if means else "")
        + (f", {labels}" if labels else "")
    )


def text(timeline: dict[str, Any]) -> str:
    """The timeline for a terminal, one line per entry."""
    if not timeline["entries"]:
        return "no stage events and no served predictions yet"
    return "\n".join(
        f"{e['at']}  {e['kind']:<8} {e.get('version') or '-':<10} {describe(e)}"
        for e in timeline["entries"]
    )


def to_html(timeline: dict[str, Any]) -> str:
    """An HTML section for `weightline report`; every value is escaped (tags, names, reasons
    and log lines all come from outside)."""
    cells = (
        (e["kind"], e["at"], e["kind"], e.get("version") or "", describe(e))
        for e in timeline["entries"]
    )
    rows = "\n".join(
        f'<tr class="{html.escape(str(kind))}">'
        + "".join(f"<td>{html.escape(str(value))}</td>" for value in values)
        + "</tr>"
        for kind, *values in cells
    )
    body = (
        "<table><thead><tr><th>UTC</th><th>what</th><th>version</th><th>detail</th></tr></thead>"
        f"<tbody>\n{rows}\n</tbody></table>"
        if rows
        else "<p>No stage events and no served predictions yet.</p>"
    )
    return (
        '<section id="served-timeline"><h2>Timeline: stage events and what was served</h2>\n'
        f"<p>Served figures per version per {html.escape(_duration(timeline['bucket_s']))}, "
        "from the prediction logs.</p>\n"
        f"{body}\n</section>"
    )


def _duration(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def for_project(
    root: Path | None,
    logs: list[Path],
    bucket: float = 3600.0,
    stage: str | None = None,
    since: float | None = None,
) -> dict[str, Any]:
    """The timeline of a project: its stage history (through the public API) and the given
    prediction logs (default: the one `weightline serve` writes in the project)."""
    from weightline import api
    from weightline.serve import predlog

    history = api.stage_history(root)
    return build(history, predlog.read(logs), bucket, stage, since)


def html_section(root: Path | None = None, logs: list[Path] | None = None) -> str:
    """The section `weightline report` adds: the project's timeline as escaped HTML.

    Needs nothing beyond the library's own dependencies (not the `serve` extra)."""
    from weightline import api
    from weightline.serve.predlog import DEFAULT_LOG

    project = api.settings(root).root
    paths = logs if logs is not None else [project / DEFAULT_LOG]
    return to_html(for_project(project, [p for p in paths if p.exists()]))
