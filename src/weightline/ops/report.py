"""`weightline report`: the registry on one self-contained HTML page.

The versions table, the stage timeline (what was in production when), metric trends across
versions and the latest diff, drawn as inline SVG with inline CSS: no script, no server, no
network (a Content-Security-Policy forbids fetching anything), so the file can be mailed,
archived as a CI artifact or opened from disk years later. Every text from git is escaped.
"""

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape
from typing import Any

from weightline.settings import Settings
from weightline.store.index import Index, hold

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b")
STAGE_ORDER = ("production", "staging", "archived")
MAX_ROWS = 500  # table rows; the full list is `weightline query --csv`
MAX_POINTS = 400  # chart markers; the lines always use every version

CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { margin-top: 2.2rem; font-size: 1.2rem; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: .25rem .5rem; border-bottom: 1px solid #e3e3e3; }
th { background: #f6f6f6; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.muted { color: #777; } .moved { color: #b00020; font-weight: 600; }
.tag { display: inline-block; padding: 0 .4rem; border-radius: .6rem; background: #eef;
       margin-right: .2rem; font-size: 12px; }
svg { background: #fff; border: 1px solid #ddd; } svg text { font: 11px system-ui, sans-serif; }
"""


def color_of(text: str) -> str:
    """A stable colour per version, so one version looks the same across lanes."""
    hue = int(hashlib.sha1(text.encode()).hexdigest()[:4], 16) % 360
    return f"hsl({hue}, 55%, 62%)"


def when(epoch: float | None) -> str:
    if epoch is None:
        return "now"
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M UTC")


def fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return "" if value is None else str(value)


def cell(value: object) -> str:
    """Any value from a manifest, a tag or git, as HTML text: numbers too are escaped, since a
    "number" in a file may be a string of markup."""
    return escape(fmt(value))


def percent(value: object, sign: str = "") -> str:
    """A share as a percentage (`sign` "+" for a change), or the value escaped if not a number."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:{sign}.1%}"
    return cell(value)


def intervals(events: list[Any]) -> list[dict[str, Any]]:
    """Who held each stage from when to when, replaying stage events in order (N)."""
    held: dict[str, dict[str, Any]] = {}
    done: list[dict[str, Any]] = []
    so_far: list[tuple[int, str, str, bool, str]] = []
    for event in events:
        so_far.append(
            (event["number"], event["tag"], event["stage"], event["assigned"], event["v"])
        )
        now = {stage: version for stage, (version, _) in hold(so_far).items()}
        for stage in {*held, *now}:
            current = held.get(stage)
            if current and current["version"] == now.get(stage):
                continue
            if current:
                current["end"] = event["at_epoch"]
                done.append(current)
                del held[stage]
            if stage in now:
                held[stage] = {
                    "stage": stage,
                    "version": now[stage],
                    "start": event["at_epoch"],
                    "end": None,
                    "by": event["by"],
                    "reason": event["reason"],
                }
    return done + list(held.values())


def timeline_svg(spans: list[dict[str, Any]], start: float, end: float) -> str:
    stages = sorted(
        {s["stage"] for s in spans},
        key=lambda s: (s not in STAGE_ORDER, STAGE_ORDER.index(s) if s in STAGE_ORDER else 0, s),
    )
    width, left, lane = 1000, 90, 34
    height = 30 + lane * max(len(stages), 1)
    scale = (width - left - 10) / max(end - start, 1)
    parts = [
        f'<svg id="timeline" xmlns="http://www.w3.org/2000/svg" width="100%" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="stage timeline">'
    ]
    for i, stage in enumerate(stages):
        y = 10 + i * lane
        parts.append(f'<text x="6" y="{y + 19}">{escape(stage)}</text>')
        for span in (s for s in spans if s["stage"] == stage):
            x0 = left + (span["start"] - start) * scale
            x1 = left + ((span["end"] or end) - start) * scale
            version = span["version"].rpartition("@")[2]
            title = (
                f"{span['version']} in {stage} from {when(span['start'])} to {when(span['end'])}"
            )
            parts.append(
                f'<g class="span" data-stage="{escape(stage)}" data-version="{escape(version)}">'
                f"<title>{escape(title)}</title>"
                f'<rect x="{x0:.1f}" y="{y}" width="{max(x1 - x0, 2):.1f}" height="26" '
                f'fill="{color_of(version)}" stroke="#fff"/>'
            )
            if x1 - x0 > 8 * len(version):
                parts.append(f'<text x="{x0 + 4:.1f}" y="{y + 17}">{escape(version)}</text>')
            parts.append("</g>")
    parts.append(
        f'<text x="{left}" y="{height - 4}" class="muted">{escape(when(start))}</text>'
        f'<text x="{width - 10}" y="{height - 4}" text-anchor="end">{escape(when(end))}</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def chart_svg(
    versions: list[dict[str, Any]], metrics: dict[str, dict[str, float]], names: list[str]
) -> str:
    """Each key metric across versions (SemVer order), one line per metric."""
    width, height, left, bottom, top = 1000, 320, 60, 40, 14
    values = [
        metrics[v["version"]][n] for v in versions for n in names if n in metrics[v["version"]]
    ]
    if not values:
        return '<p class="muted">No metrics to chart yet.</p>'
    low, high = min(values), max(values)
    pad = (high - low) * 0.08 or 0.01
    low, high = low - pad, high + pad
    count = len(versions)
    step = (width - left - 20) / max(count - 1, 1)

    def x(i: int) -> float:
        return left + i * step

    def y(value: float) -> float:
        return top + (high - value) / (high - low) * (height - top - bottom)

    parts = [
        f'<svg id="metrics-chart" xmlns="http://www.w3.org/2000/svg" width="100%" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="metrics across versions">'
    ]
    for k in range(5):
        value = low + (high - low) * k / 4
        parts.append(
            f'<line x1="{left}" x2="{width - 10}" y1="{y(value):.1f}" y2="{y(value):.1f}" '
            f'stroke="#eee"/><text x="{left - 6}" y="{y(value) + 4:.1f}" '
            f'text-anchor="end">{value:.3f}</text>'
        )
    every = max(1, count // 10)
    for i, version in enumerate(versions):
        last = i == count - 1
        if (i % every == 0 and count - i > every // 2) or last:
            anchor = "end" if last and count > 1 else "middle"
            parts.append(
                f'<text x="{x(i):.1f}" y="{height - bottom + 16}" text-anchor="{anchor}">'
                f"{escape(version['version'])}</text>"
            )
        if "production" in (version["stages"] or "").split(","):
            parts.append(
                f'<line x1="{x(i):.1f}" x2="{x(i):.1f}" y1="{top}" y2="{height - bottom}" '
                'stroke="#b00020" stroke-dasharray="4 3"/>'
                f'<text x="{x(i) - 3:.1f}" y="{top + 10}" fill="#b00020" '
                'text-anchor="end">production</text>'
            )
    for n, name in enumerate(names):
        color = PALETTE[n % len(PALETTE)]
        points = [
            (i, metrics[v["version"]][name])
            for i, v in enumerate(versions)
            if name in metrics[v["version"]]
        ]
        line = " ".join(f"{x(i):.1f},{y(value):.1f}" for i, value in points)
        parts.append(
            f'<polyline class="metric" data-metric="{escape(name)}" points="{line}" '
            f'fill="none" stroke="{color}" stroke-width="2"/>'
        )
        if len(points) <= MAX_POINTS:
            for i, value in points:
                parts.append(
                    f'<circle cx="{x(i):.1f}" cy="{y(value):.1f}" r="3" fill="{color}">'
                    f"<title>{escape(versions[i]['version'])} {escape(name)} = {value:.6g}"
                    "</title></circle>"
                )
        parts.append(
            f'<rect x="{left + 10 + n * 130}" y="{height - 14}" width="12" height="4" '
            f'fill="{color}"/><text x="{left + 26 + n * 130}" y="{height - 9}">'
            f"{escape(name)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def table(
    headers: list[str], rows: list[list[str]], numeric: set[int] | None = None, ident: str = ""
) -> str:
    """An HTML table; cells are HTML already (escaped by the caller), headers are text."""
    numeric = numeric or set()
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{cell}</td>' if i in numeric else f"<td>{cell}</td>"
            for i, cell in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    attribute = f' id="{ident}"' if ident else ""
    return f"<table{attribute}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def diff_section(index: Index, old: dict[str, Any], new: dict[str, Any]) -> str:
    from weightline.domain.compare import diff
    from weightline.domain.drift import training_drift

    a, b = index.manifest(old["tag"]), index.manifest(new["tag"])
    changes = diff(a, b)
    drift = training_drift(a, b)
    out = [f"<h2 id=\"latest-diff\">Latest diff: {escape(old['version'])} &rarr; "
           f"{escape(new['version'])}</h2>"]  # fmt: skip
    same = changes["weights"]["same"]
    out.append(f"<p>Weights: {'the same bytes' if same else 'different'}. ")
    signature = changes["signature"]
    if signature["breaking"]:
        out.append("Signature: <b>breaking</b>: " + escape("; ".join(signature["breaking"])))
    else:
        out.append("Signature: " + ("changed, compatible" if signature["changed"] else "unchanged"))
    out.append(".</p>")
    out.append("<h3>Metrics</h3>")
    out.append(
        table(
            ["metric", old["version"], new["version"], "change"],
            [
                [escape(m["name"]), cell(m["old"]), cell(m["new"]), cell(m["delta"])]
                for m in changes["metrics"]
            ],
            {1, 2, 3},
        )
    )
    sections: tuple[tuple[str, str, list[Any]], ...] = (
        ("Configuration", "config", list(changes["config"])),
        ("Data", "data", list(changes["data"])),
    )
    for title, key, items in sections:
        out.append(f"<h3>{title}</h3>")
        if not items:
            out.append('<p class="muted">unchanged</p>')
            continue
        name = "key" if key == "config" else "path"
        out.append(
            table(
                [name, "old", "new"],
                [
                    [escape(str(c[name])), escape(fmt(c["old"])), escape(fmt(c["new"]))]
                    for c in items
                ],
            )
        )
    out.append(
        f"<h3>Training-data drift</h3><p>{len(drift['moved'])} of {len(drift['features'])} "
        f"features moved (PSI &gt; {cell(drift['threshold'])} and beyond sampling noise: "
        f"the gap between the distributions above what {cell(drift['rows']['old'])} and "
        f"{cell(drift['rows']['new'])} rows show by chance, p &lt; {cell(drift['alpha'])}); "
        f"rows {cell(drift['rows']['old'])} &rarr; {cell(drift['rows']['new'])}.</p>"
    )
    shown = [r for r in drift["features"] if r["moved"]] or drift["features"][:5]
    out.append(
        table(
            [
                "feature",
                "PSI",
                "gap",
                "noise",
                "p",
                "mean shift (std)",
                "mean before",
                "mean after",
            ],
            [
                [
                    f'<span class="{"moved" if r["moved"] else ""}">{escape(r["feature"])}</span>',
                    cell(r["psi"]),
                    cell(r["ks"]),
                    cell(r["noise"]),
                    cell(r["p_value"]),
                    cell(r["mean_shift"]),
                    cell(r["old_mean"]),
                    cell(r["new_mean"]),
                ]
                for r in shown
            ],
            {1, 2, 3, 4, 5, 6, 7},
        )
    )
    if drift["balance"]:
        out.append("<h3>Class balance</h3>")
        out.append(
            table(
                ["class", "before", "after", "change"],
                [
                    [
                        cell(c["class"]),
                        percent(c["old"]),
                        percent(c["new"]),
                        percent(c["delta"], "+"),
                    ]
                    for c in drift["balance"]["classes"]
                ],
                {1, 2, 3},
            )
        )
    out.append("<h3>Environment</h3>")
    if drift["environment"]:
        out.append(
            table(
                ["what", "before", "after"],
                [
                    [escape(c["name"]), escape(fmt(c["old"])), escape(fmt(c["new"]))]
                    for c in drift["environment"]
                ],
            )
        )
    else:
        out.append('<p class="muted">unchanged</p>')
    return "".join(out)


def render(
    index: Index,
    settings: Settings,
    now: datetime | None = None,
    sections: Sequence[str] = (),
) -> str:
    """The whole page, as one string."""
    now = now or datetime.now(UTC)
    artifact = settings.artifact
    versions = index.version_rows()
    metrics: dict[str, dict[str, float]] = {v["version"]: {} for v in versions}
    for version, name, value in index.conn.execute("SELECT version, name, value FROM metrics"):
        metrics.setdefault(version, {})[name] = value
    names = list(settings.key_metrics) or sorted({n for m in metrics.values() for n in m})[:6]
    events = index.rows("SELECT *, version AS v FROM stage_events ORDER BY number, tag")
    for event in events:
        event["v"] = f"{artifact}@{event['v']}"
    spans = intervals(events)
    held = index.rows("SELECT stage, version, since FROM stages ORDER BY stage")

    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; img-src data:\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(artifact)} registry</title><style>{CSS}</style></head><body>",
        f"<h1>{escape(artifact)}: model registry</h1>",
        f'<p class="muted">{len(versions)} versions, {len(events)} stage events; generated '
        f"{escape(now.strftime('%Y-%m-%d %H:%M UTC'))} from git tags by "
        "<code>weightline report</code>.</p>",
    ]
    if held:
        out.append(
            "<p>Now: "
            + " ".join(
                f'<span class="tag">{escape(h["stage"])}: {escape(h["version"])}</span>'
                for h in held
            )
            + "</p>"
        )

    out.append('<h2 id="trends">Metrics across versions</h2>')
    out.append(chart_svg(versions, metrics, names))

    out.append('<h2 id="stages">Stage timeline</h2>')
    if spans:
        start = min([s["start"] for s in spans] + [v["created_epoch"] for v in versions[:1]])
        out.append(timeline_svg(spans, start, now.timestamp()))
        rows = [
            [
                escape(s["stage"]),
                escape(s["version"].rpartition("@")[2]),
                escape(when(s["start"])),
                escape(when(s["end"])),
                escape(fmt(s["by"])),
                escape(fmt(s["reason"])),
            ]
            for s in sorted(spans, key=lambda s: (-s["start"], s["stage"]))
        ]
        out.append("<h3>What held each stage when</h3>")
        headers = ["stage", "version", "from", "until", "by", "reason"]
        out.append(table(headers, rows[:MAX_ROWS], ident="stage-table"))
    else:
        out.append('<p class="muted">No stage was ever assigned.</p>')

    out.append('<h2 id="versions">Versions</h2>')
    newest = list(reversed(versions))
    rows = [
        [
            f"<b>{escape(v['version'])}</b>",
            escape(v["created"][:16].replace("T", " ")),
            escape(fmt(v["author"])),
            f"<code>{escape(v['commit_id'][:10])}</code>",
            escape(fmt(v["bump"])),
            " ".join(
                f'<span class="tag">{escape(s)}</span>' for s in (v["stages"] or "").split(",") if s
            ),
            *(cell(metrics[v["version"]].get(n)) for n in names),
            escape(fmt(v["reason"])),
        ]
        for v in newest[:MAX_ROWS]
    ]
    metric_columns = set(range(6, 6 + len(names)))
    out.append(
        table(
            ["version", "created", "author", "commit", "bump", "stages", *names, "reason"],
            rows,
            metric_columns,
            ident="versions-table",
        )
    )
    if len(newest) > MAX_ROWS:
        out.append(
            f'<p class="muted">... and {len(newest) - MAX_ROWS} older versions: '
            "<code>weightline query --csv</code> lists them all.</p>"
        )

    if len(versions) >= 2:
        try:
            out.append(diff_section(index, versions[-2], versions[-1]))
        except (TypeError, ValueError, KeyError, ZeroDivisionError) as error:
            # a hand-made manifest whose "numbers" are not numbers: the page still renders
            out.append(
                f'<h2 id="latest-diff">Latest diff: {escape(versions[-2]["version"])} &rarr; '
                f'{escape(versions[-1]["version"])}</h2><p class="muted">It cannot be computed: '
                f"a manifest holds a value of the wrong kind ({escape(type(error).__name__)}: "
                f"{escape(str(error))}).</p>"
            )
    if versions:  # the newest two versions' evaluation curves (ops/plots.py), overlaid
        from weightline.ops import plots

        newest = [plots.read(settings, v["version"], v["commit_id"]) for v in versions[-2:]]
        out.append(plots.section(newest)[0])
    out.extend(sections)
    out.append("</body></html>")
    return "\n".join(out) + "\n"
