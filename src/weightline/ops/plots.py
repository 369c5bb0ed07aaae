"""`weightline plots`: each version's evaluation curves, drawn so a person can look at them offline.

`dvc plots show` writes HTML that fetches Vega from a CDN, so offline it shows nothing. Here the
data the evaluate stage committed at each version's commit (`reports/plots/*.json`, read with
git) is drawn as inline SVG: no script, no network, every text escaped. Two versions are drawn
on the same axes (the first in blue and wider, the second in red on top, so both show even where
they coincide); confusion matrices sit side by side.

What the evaluate stage writes, by task (rows of JSON lists):
- classes: roc.json (class, fpr, tpr, threshold; `class` absent in older projects) and
  confusion.json (actual, predicted);
- regression: predictions.json (actual, predicted) and residuals.json (predicted, residual).
A version without some of these files (an older template, another task) is said, not an error.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from html import escape
from itertools import pairwise
from pathlib import Path
from typing import Any

from weightline.settings import Settings
from weightline.store import git

COLORS = ("#1f77b4", "#d62728")  # the first version, the second (the report's first two colours)
WIDTHS = (5.0, 2.0)  # the first underneath and wider: where the curves coincide both still show
CELL = "70, 110, 160"  # confusion matrices: a neutral shade, never a version's colour
FILES = ("roc.json", "confusion.json", "predictions.json", "residuals.json")
MAX_POINTS = 1500  # per series: a 100,000-row hold-out set must not make a 20 MB page
CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 1.5rem auto; padding: 0 1rem;
       max-width: 1100px; color: #222; }
h1 { font-size: 1.5rem; margin-bottom: .2rem; } h2 { margin-top: 1.6rem; font-size: 1.15rem; }
.muted { color: #777; } svg { background: #fff; } svg text { font: 12px system-ui, sans-serif; }
"""
Rows = list[dict[str, Any]]


@dataclass
class Curves:
    """The plot data committed at one version's commit, by file stem (roc, confusion, ...)."""

    label: str
    commit: str
    data: dict[str, Rows] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Written:
    path: Path
    versions: list[str]
    plots: list[str]  # what was drawn: "roc", "confusion", "predictions", "residuals"
    notes: list[str]  # what was missing or unreadable, per version


def read(settings: Settings, label: str, commit: str) -> Curves:
    """The plot files at `commit`, each a list of rows; what is missing or malformed is noted."""
    curves = Curves(label, commit)
    for name in FILES:
        text = git.show(settings.root, commit, f"{settings.plots}/{name}")
        if text is None:
            continue
        try:
            rows = json.loads(text)
        except ValueError:
            curves.notes.append(f"{label}: {settings.plots}/{name} is not JSON; left out")
            continue
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            curves.notes.append(f"{label}: {settings.plots}/{name} is not a list of rows")
            continue
        curves.data[name.removesuffix(".json")] = rows
    if not curves.data:
        curves.notes.append(f"{label}: no plot data in {settings.plots}/ at its commit")
    return curves


# ---- drawing ------------------------------------------------------------------------------


def pair(row: dict[str, Any], x_key: str, y_key: str) -> tuple[float, float] | None:
    """The row's two values as floats, or None if either is missing or not a finite number."""
    try:
        x, y = float(row[x_key]), float(row[y_key])
    except (KeyError, TypeError, ValueError):
        return None
    return (x, y) if math.isfinite(x) and math.isfinite(y) else None


def class_of(row: dict[str, Any]) -> str | None:
    return None if row.get("class") is None else str(row["class"])


def thin(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """At most MAX_POINTS, evenly chosen, the last one kept."""
    if len(points) <= MAX_POINTS:
        return points
    step = len(points) / MAX_POINTS
    return [points[int(i * step)] for i in range(MAX_POINTS)] + [points[-1]]


@dataclass(frozen=True)
class Frame:
    """A chart's plotting area: data ranges mapped onto a viewBox of WIDTH x HEIGHT."""

    low_x: float
    high_x: float
    low_y: float
    high_y: float
    width: int = 460
    height: int = 400
    left: int = 52
    bottom: int = 44
    top: int = 12
    right: int = 14

    def x(self, value: float) -> float:
        span = (self.high_x - self.low_x) or 1.0
        return self.left + (value - self.low_x) / span * (self.width - self.left - self.right)

    def y(self, value: float) -> float:
        span = (self.high_y - self.low_y) or 1.0
        return self.top + (self.high_y - value) / span * (self.height - self.top - self.bottom)

    def axes(self, x_label: str, y_label: str, ident: str, title: str) -> list[str]:
        """The svg element's start, the grid with tick labels, and the axis titles."""
        parts = [
            f'<svg id="{escape(ident)}" class="plot" xmlns="http://www.w3.org/2000/svg" '
            f'width="{self.width}" height="{self.height}" viewBox="0 0 {self.width} '
            f'{self.height}" role="img" aria-label="{escape(title)}">'
            f"<title>{escape(title)}</title>"
        ]
        for k in range(5):
            vx = self.low_x + (self.high_x - self.low_x) * k / 4
            vy = self.low_y + (self.high_y - self.low_y) * k / 4
            parts.append(
                f'<line x1="{self.x(vx):.1f}" x2="{self.x(vx):.1f}" y1="{self.top}" '
                f'y2="{self.height - self.bottom}" stroke="#eee"/>'
                f'<line x1="{self.left}" x2="{self.width - self.right}" y1="{self.y(vy):.1f}" '
                f'y2="{self.y(vy):.1f}" stroke="#eee"/>'
                f'<text x="{self.x(vx):.1f}" y="{self.height - self.bottom + 14}" '
                f'text-anchor="middle">{tick(vx)}</text>'
                f'<text x="{self.left - 5}" y="{self.y(vy) + 4:.1f}" text-anchor="end">'
                f"{tick(vy)}</text>"
            )
        parts.append(
            f'<rect x="{self.left}" y="{self.top}" width="{self.width - self.left - self.right}" '
            f'height="{self.height - self.top - self.bottom}" fill="none" stroke="#bbb"/>'
            f'<text x="{(self.left + self.width - self.right) / 2:.0f}" '
            f'y="{self.height - 8}" text-anchor="middle">{escape(x_label)}</text>'
            f'<text transform="translate(13 {(self.top + self.height - self.bottom) / 2:.0f}) '
            f'rotate(-90)" text-anchor="middle">{escape(y_label)}</text>'
        )
        return parts


def tick(value: float) -> str:
    return f"{value:.3g}"


def legend(entries: list[tuple[str, str]]) -> str:
    """Small swatches and labels under a chart (HTML: the text wraps as it needs)."""
    return (
        '<div class="legend">'
        + " ".join(
            f'<span style="white-space:nowrap;margin-right:1em">'
            f'<span style="display:inline-block;width:10px;height:10px;background:{color};'
            f'margin-right:4px"></span>{escape(text)}</span>'
            for color, text in entries
        )
        + "</div>"
    )


def figure(svg: str, caption: list[tuple[str, str]], heading: str = "") -> str:
    named = f'<div style="font-weight:600">{escape(heading)}</div>' if heading else ""
    return f'<figure style="margin:0">{named}{svg}{legend(caption)}</figure>'


def auc(points: list[tuple[float, float]]) -> float:
    return sum((x1 - x0) * (y0 + y1) / 2 for (x0, y0), (x1, y1) in pairwise(sorted(points)))


def roc_charts(curves: list[Curves]) -> list[str]:
    """One chart per class (one for binary), every version's curve on the same axes."""
    classes: list[str | None] = []
    for c in curves:
        for row in c.data.get("roc", []):
            if class_of(row) not in classes:
                classes.append(class_of(row))
    charts: list[str] = []
    for name in classes:
        frame = Frame(0.0, 1.0, 0.0, 1.0)
        title = "ROC curve" + (f": {name} against the rest" if name and len(classes) > 1 else "")
        ident = "roc" if len(classes) == 1 else f"roc-{len(charts) + 1}"
        parts = frame.axes("false positive rate", "true positive rate", ident, title)
        parts.append(
            f'<line x1="{frame.x(0):.1f}" y1="{frame.y(0):.1f}" x2="{frame.x(1):.1f}" '
            f'y2="{frame.y(1):.1f}" stroke="#999" stroke-dasharray="4 4"/>'
        )
        caption = []
        for i, c in enumerate(curves):
            rows = [r for r in c.data.get("roc", []) if class_of(r) == name]
            points = sorted(thin([p for r in rows if (p := pair(r, "fpr", "tpr")) is not None]))
            if not points:
                continue
            line = "L".join(f"{frame.x(x):.1f},{frame.y(y):.1f}" for x, y in points)
            parts.append(  # a path, not a polyline: the report's metric chart owns those
                f'<path class="series" data-version="{escape(c.label)}" d="M{line}" '
                f'fill="none" stroke="{COLORS[i]}" stroke-width="{WIDTHS[i]}" '
                'stroke-linejoin="round" stroke-linecap="round"/>'
            )
            caption.append((COLORS[i], f"{c.label} (AUC {auc(points):.3f})"))
        parts.append("</svg>")
        if caption:
            heading = f"class {name}, against the rest" if name and len(classes) > 1 else ""
            charts.append(figure("".join(parts), caption, heading))
    return charts


def scatter_chart(
    curves: list[Curves], name: str, x_key: str, y_key: str, title: str, diagonal: bool
) -> list[str]:
    """Points of every version on one chart: predicted against actual, or residuals."""
    series = [
        (i, c, thin([p for r in c.data.get(name, []) if (p := pair(r, x_key, y_key))]))
        for i, c in enumerate(curves)
    ]
    values = [p for _, _, points in series for p in points]
    if not values:
        return []
    xs, ys = [x for x, _ in values], [y for _, y in values]
    low_x, high_x, low_y, high_y = min(xs), max(xs), min(ys), max(ys)
    if diagonal:  # the same scale on both axes, so y = x is the diagonal
        low_x = low_y = min(low_x, low_y)
        high_x = high_y = max(high_x, high_y)
    pad_x, pad_y = (high_x - low_x) * 0.03 or 1.0, (high_y - low_y) * 0.03 or 1.0
    low_x, high_x, low_y, high_y = low_x - pad_x, high_x + pad_x, low_y - pad_y, high_y + pad_y
    frame = Frame(low_x, high_x, low_y, high_y)
    parts = frame.axes(x_key, y_key, name, title)
    if diagonal:
        parts.append(
            f'<line x1="{frame.x(low_x):.1f}" y1="{frame.y(low_y):.1f}" x2="{frame.x(high_x):.1f}" '
            f'y2="{frame.y(high_y):.1f}" stroke="#999" stroke-dasharray="4 4"/>'
        )
    elif low_y <= 0 <= high_y:
        parts.append(
            f'<line x1="{frame.left}" x2="{frame.width - frame.right}" y1="{frame.y(0):.1f}" '
            f'y2="{frame.y(0):.1f}" stroke="#999" stroke-dasharray="4 4"/>'
        )
    caption = []
    for i, c, points in series:
        if not points:
            continue
        radius = 3.2 if i == 0 else 2.0
        parts.append(f'<g class="series" data-version="{escape(c.label)}" fill="{COLORS[i]}">')
        parts += [
            f'<circle cx="{frame.x(x):.1f}" cy="{frame.y(y):.1f}" r="{radius}"/>' for x, y in points
        ]
        parts.append("</g>")
        caption.append((COLORS[i], f"{c.label} ({len(points)} rows)"))
    parts.append("</svg>")
    return [figure("".join(parts), caption)]


def confusion_charts(curves: list[Curves]) -> list[str]:
    """One matrix per version, side by side, over the same class labels; counts in the cells."""
    labels: list[str] = []
    for c in curves:
        for row in c.data.get("confusion", []):
            for key in ("actual", "predicted"):
                if key in row and str(row[key]) not in labels:
                    labels.append(str(row[key]))
    labels.sort()
    if not labels:
        return []
    charts = []
    size, left, top = 46, 110, 40
    for i, c in enumerate(curves):
        rows = c.data.get("confusion")
        if not rows:
            continue
        counts: dict[tuple[str, str], int] = {}
        for row in rows:
            if "actual" in row and "predicted" in row:
                cell = (str(row["actual"]), str(row["predicted"]))
                counts[cell] = counts.get(cell, 0) + 1
        most = max(counts.values(), default=1)
        width = max(left + size * len(labels) + 10, 300)  # room for the line under it
        height = top + size * len(labels) + 30
        title = f"confusion matrix of {c.label}"
        parts = [
            f'<svg id="confusion-{i + 1}" class="plot" xmlns="http://www.w3.org/2000/svg" '
            f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
            f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
            f'<text x="{left}" y="14">{escape(c.label)}: predicted &#8594;</text>'
        ]
        for a, actual in enumerate(labels):
            y = top + a * size
            parts.append(
                f'<text x="{left - 6}" y="{y + size / 2 + 4:.0f}" text-anchor="end">'
                f"{escape(short(actual))}</text>"
            )
            for p, predicted in enumerate(labels):
                x = left + p * size
                count = counts.get((actual, predicted), 0)
                shade = 0.08 + 0.85 * count / most if count else 0.0
                ink = "#fff" if shade > 0.5 else "#222"
                parts.append(
                    f'<rect x="{x}" y="{y}" width="{size}" height="{size}" '
                    f'fill="rgba({CELL}, {shade:.2f})" stroke="#ddd"/>'
                    f'<text x="{x + size / 2}" y="{y + size / 2 + 4:.0f}" text-anchor="middle" '
                    f'fill="{ink}">{count}</text>'
                )
        parts.append(f'<text x="{left - 6}" y="{top - 6}" text-anchor="end">actual &#8595;</text>')
        for p, predicted in enumerate(labels):
            parts.append(
                f'<text x="{left + p * size + size / 2}" y="{top - 6}" text-anchor="middle">'
                f"{escape(short(predicted))}</text>"
            )
        parts.append(
            f'<text x="{left}" y="{height - 8}">{sum(counts.values())} hold-out rows</text></svg>'
        )
        charts.append(f'<figure style="margin:0">{"".join(parts)}</figure>')
    return charts


def short(label: str) -> str:
    return label if len(label) <= 14 else label[:13] + "\u2026"


def row_of(charts: list[str]) -> str:
    return '<div style="display:flex;flex-wrap:wrap;gap:18px">' + "".join(charts) + "</div>"


def section(curves: list[Curves], heading: str = "h2") -> tuple[str, list[str]]:
    """The charts (HTML) and the names of the plots drawn, for a page or the report."""
    names = " and ".join(escape(c.label) for c in curves)
    out: list[str] = []
    drawn: list[str] = []
    sub = "h3" if heading == "h2" else "h4"
    blocks = [
        ("roc", "ROC curves", roc_charts(curves)),
        ("confusion", "Confusion matrices", confusion_charts(curves)),
        (
            "predictions",
            "Predicted against actual",
            scatter_chart(curves, "predictions", "actual", "predicted", "predicted", True),
        ),
        (
            "residuals",
            "Residuals",
            scatter_chart(curves, "residuals", "predicted", "residual", "residuals", False),
        ),
    ]
    for name, title, charts in blocks:
        if charts:
            drawn.append(name)
            out.append(f'<{sub} id="plot-{name}">{title}</{sub}>{row_of(charts)}')
    notes = [note for c in curves for note in c.notes]
    head = f'<{heading} id="plots">Evaluation plots: {names}</{heading}>'
    if not drawn:
        out.append('<p class="muted">No plot data to draw.</p>')
    tail = "".join(f'<p class="muted">{escape(note)}</p>' for note in notes)
    return head + "".join(out) + tail, drawn


def page(curves: list[Curves], artifact: str) -> tuple[str, list[str]]:
    """A whole self-contained HTML page (a Content-Security-Policy forbids any fetch)."""
    body, drawn = section(curves)
    names = ", ".join(c.label for c in curves)
    html = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; img-src data:\">\n"
        f"<title>{escape(artifact)} {escape(names)}: plots</title><style>{CSS}</style></head>"
        f"<body>\n<h1>{escape(artifact)}: {escape(names)}</h1>\n"
        '<p class="muted">Drawn from the plot data the evaluate stage committed at each '
        "version's commit, on its frozen hold-out set, by <code>weightline plots</code>.</p>\n"
        f"{body}\n</body></html>\n"
    )
    return html, drawn


def write(settings: Settings, refs: list[str], output: Path) -> Written:
    """Draw one or two versions' plots into a self-contained HTML file at `output`."""
    from weightline.errors import Refused
    from weightline.store.files import output_file, write_atomic
    from weightline.store.index import open_index

    if not 1 <= len(refs) <= 2:
        raise Refused("name one version to draw, or two to overlay")
    with open_index(settings) as index:
        versions = [index.resolve(ref) for ref in refs]
    curves = [read(settings, str(v.version), v.commit) for v in versions]
    html, drawn = page(curves, settings.artifact)
    target = output_file(output, settings.root)
    write_atomic(target, html)
    notes = [note for c in curves for note in c.notes]
    return Written(target, [v.name for v in versions], drawn, notes)
