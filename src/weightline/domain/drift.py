"""How far data moved: between the training data of two versions, or from a version to a sample.

The manifest keeps, per feature, count, missing, mean, std, min, max and 13 quantiles (summary.py),
not the data. That is enough for the population stability index (PSI): the older distribution's
quantiles cut the line into bins whose expected masses are known exactly (0.01, 0.04, 0.05, 0.1,
...); the newer distribution's mass in each bin comes from its own quantile function, linearly
interpolated between its quantiles (and its min and max at probabilities 0 and 1). Against a raw
sample the masses are simply counted.

    PSI = sum over bins of (new - old) * ln(new / old)     (masses floored at 1e-4)

Rules of thumb: below 0.1 nothing moved, 0.1 to 0.2 a moderate shift, above 0.2 (the default
threshold) the feature moved enough that the model sees data unlike what it learned from.
The mean shift is in units of the older standard deviation: it says which way, and how far.
"""

import math
from collections.abc import Mapping
from itertools import pairwise
from typing import Any

from weightline.errors import Refused

PSI_THRESHOLD = 0.2
BALANCE_THRESHOLD = 0.05  # a class share moving by 5 points or more is flagged
FLOOR = 1e-4  # empty bins would make the logarithm infinite
NOISY_ROWS = 100  # below this, PSI over ~14 bins is mostly sampling noise


def cdf_points(feature: dict[str, Any]) -> list[tuple[float, float]]:
    """(value, probability) knots of a feature's summarized distribution, ascending."""
    points = [(float(feature["min"]), 0.0)]
    quantiles = feature.get("quantiles") or {}
    for p, value in sorted((float(p), v) for p, v in quantiles.items() if v is not None):
        points.append((float(value), p))
    points.append((float(feature["max"]), 1.0))
    return points


def cdf(points: list[tuple[float, float]], x: float) -> float:
    """P(X <= x), interpolated linearly between knots; ties take the highest probability."""
    if x < points[0][0]:
        return 0.0
    if x >= points[-1][0]:
        return 1.0
    below = max(i for i, (value, _) in enumerate(points) if value <= x)
    (x0, p0), (x1, p1) = points[below], points[below + 1]
    return p0 if x1 == x0 else p0 + (p1 - p0) * (x - x0) / (x1 - x0)


def edges(feature: dict[str, Any]) -> list[float]:
    """Bin edges: the older distribution's distinct quantiles."""
    quantiles = feature.get("quantiles") or {}
    return sorted({float(v) for v in quantiles.values() if v is not None})


def masses(points: list[tuple[float, float]], cuts: list[float]) -> list[float]:
    """Probability of (-inf, c0], (c0, c1], ..., (c_last, inf) under a summarized distribution."""
    cumulative = [0.0, *(cdf(points, c) for c in cuts), 1.0]
    return [max(b - a, 0.0) for a, b in pairwise(cumulative)]


def psi(expected: list[float], actual: list[float]) -> float:
    total = 0.0
    for e, a in zip(expected, actual, strict=True):
        e, a = max(e, FLOOR), max(a, FLOOR)
        total += (a - e) * math.log(a / e)
    return round(total, 6)


def mean_shift(old: dict[str, Any], new_mean: float | None) -> float | None:
    """(new mean - old mean) / old std; None when either is unknown or the std is zero."""
    if new_mean is None or old.get("mean") is None or not old.get("std"):
        return None
    return round((new_mean - float(old["mean"])) / float(old["std"]), 6)


def missing_rate(feature: dict[str, Any]) -> float:
    count, missing = feature.get("count", 0), feature.get("missing", 0)
    return round(missing / (count + missing), 6) if count + missing else 0.0


def summarized(feature: dict[str, Any]) -> bool:
    return feature.get("count", 0) > 0 and "min" in feature and "max" in feature


def feature_drift(
    name: str, old: dict[str, Any], new: dict[str, Any], threshold: float
) -> dict[str, Any]:
    """PSI, mean shift and missing rates of one feature between two summaries."""
    row = {
        "feature": name,
        "psi": None,
        "mean_shift": None,
        "old_mean": old.get("mean"),
        "new_mean": new.get("mean"),
        "old_missing": missing_rate(old),
        "new_missing": missing_rate(new),
    }
    if summarized(old) and summarized(new):
        cuts = edges(old)
        row["psi"] = psi(masses(cdf_points(old), cuts), masses(cdf_points(new), cuts))
        row["mean_shift"] = mean_shift(old, new.get("mean"))
    row["moved"] = moved(row, threshold)
    return row


def moved(row: dict[str, Any], threshold: float) -> bool:
    if row["psi"] is not None and row["psi"] > threshold:
        return True
    return bool(abs(row["new_missing"] - row["old_missing"]) > 0.05)  # gaps where there were none


def balance_change(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any] | None:
    """Class shares before and after, and whether any moved by BALANCE_THRESHOLD or more."""
    before = (old.get("target") or {}).get("balance")
    after = (new.get("target") or {}).get("balance")
    if not before or not after:
        return None
    classes = sorted(before.keys() | after.keys())
    rows = [
        {
            "class": c,
            "old": before.get(c, 0.0),
            "new": after.get(c, 0.0),
            "delta": round(after.get(c, 0.0) - before.get(c, 0.0), 6),
        }
        for c in classes
    ]
    return {
        "classes": rows,
        "moved": any(abs(r["delta"]) >= BALANCE_THRESHOLD for r in rows),
    }


def compare_summaries(
    old: dict[str, Any], new: dict[str, Any], threshold: float = PSI_THRESHOLD
) -> dict[str, Any]:
    """Feature-by-feature drift between two `training_data` summaries (old is the reference)."""
    old_features, new_features = old.get("features") or {}, new.get("features") or {}
    common = [name for name in old_features if name in new_features]
    features = [
        feature_drift(name, old_features[name], new_features[name], threshold) for name in common
    ]
    features.sort(key=lambda r: -(r["psi"] or 0.0))
    return {
        "threshold": threshold,
        "rows": {"old": old.get("rows"), "new": new.get("rows")},
        "features": features,
        "moved": [r["feature"] for r in features if r["moved"]],
        "added": sorted(new_features.keys() - old_features.keys()),
        "removed": sorted(old_features.keys() - new_features.keys()),
        "balance": balance_change(old, new),
    }


def environment_changes(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    """Python, platform and key package versions that differ (a changed full list is named too)."""
    changes = []
    for key in ("python", "implementation", "platform", "machine"):
        if old.get(key) != new.get(key):
            changes.append({"name": key, "old": old.get(key), "new": new.get(key)})
    before, after = old.get("packages") or {}, new.get("packages") or {}
    for name in sorted(before.keys() | after.keys()):
        if before.get(name) != after.get(name):
            changes.append({"name": name, "old": before.get(name), "new": after.get(name)})
    if old.get("packages_sha256") != new.get("packages_sha256"):
        changes.append(
            {
                "name": "all packages (hash of the full list)",
                "old": f"{old.get('packages_count')} packages",
                "new": f"{new.get('packages_count')} packages, other versions or set",
            }
        )
    return changes


DriftReport = dict[str, Any]  # threshold, rows, features (one row each), moved, added, removed,
# balance, environment: see compare_summaries and training_drift


def training_drift(
    old: Mapping[str, Any], new: Mapping[str, Any], threshold: float = PSI_THRESHOLD
) -> DriftReport:
    """What `weightline diff` adds: training-data drift, class balance, environment changes.

    `old` and `new` are whole manifests; the older version is the reference distribution.
    """
    result = compare_summaries(
        old.get("training_data") or {}, new.get("training_data") or {}, threshold
    )
    result["environment"] = environment_changes(
        old.get("environment") or {}, new.get("environment") or {}
    )
    return result


def number(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def feature_lines(report: dict[str, Any], limit: int = 10) -> list[str]:
    """The features that moved (or the few that moved most), one line each."""
    rows = report["features"]
    shown = [r for r in rows if r["moved"]] or rows[:3]
    lines = []
    for r in shown[:limit]:
        flag = "MOVED " if r["moved"] else "      "
        shift = "" if r["mean_shift"] is None else f", mean {r['mean_shift']:+.2f} std"
        missing = (
            f", missing {r['old_missing']:.0%} -> {r['new_missing']:.0%}"
            if r["old_missing"] != r["new_missing"]
            else ""
        )
        lines.append(f"  {flag}{r['feature']}: PSI {number(r['psi'])}{shift}{missing}")
    if len(shown) > limit:
        lines.append(f"  ... and {len(shown) - limit} more (--json for all)")
    return lines


def drift_lines(report: dict[str, Any]) -> list[str]:
    """`weightline diff`'s text for training_drift(): what moved, balance, environment."""
    moved_count = len(report["moved"])
    total = len(report["features"])
    rows = report["rows"]
    lines = [
        f"training data: {rows['old']} -> {rows['new']} rows; {moved_count} of {total} features "
        f"moved (PSI > {report['threshold']:g})"
    ]
    lines += feature_lines(report)
    if report["added"] or report["removed"]:
        lines.append(
            f"  features added: {', '.join(report['added']) or '-'}; "
            f"removed: {', '.join(report['removed']) or '-'}"
        )
    balance = report["balance"]
    if balance:
        shares = ", ".join(
            f"{c['class']}: {c['old']:.1%} -> {c['new']:.1%}" for c in balance["classes"]
        )
        lines.append(f"class balance{' MOVED' if balance['moved'] else ''}: {shares}")
    environment = report.get("environment")
    if environment is not None:
        lines.append("environment:" if environment else "environment: unchanged")
        lines += [f"  {c['name']}: {c['old']} -> {c['new']}" for c in environment]
    return lines


# ---- a sample of production data against a version's training data ---------------------------


def sample_drift(
    manifest: dict[str, Any], frame: Any, threshold: float = PSI_THRESHOLD
) -> dict[str, Any]:
    """Each training feature of a version against the same column of a sample (counted bins)."""
    import numpy as np
    import pandas as pd

    training = manifest.get("training_data") or {}
    features = training.get("features") or {}
    if not features:
        raise Refused("this version's manifest has no training-data summary to compare")
    missing = [name for name in features if name not in frame.columns]
    if missing:
        shown = ", ".join(missing[:10]) + (" ..." if len(missing) > 10 else "")
        raise Refused(
            f"the sample lacks {len(missing)} of the model's input column(s): {shown}; "
            "give a file with the same column names as the training data"
        )
    rows = []
    for name, old in features.items():
        raw = frame[name]
        values = pd.to_numeric(raw, errors="coerce").astype("float64")
        text = int((values.isna() & raw.notna()).sum())
        if text:
            raise Refused(
                f"column {name!r} of the sample has {text} non-numeric value(s), "
                f"e.g. {raw[values.isna() & raw.notna()].iloc[0]!r}: the model takes numbers"
            )
        present = values.dropna().to_numpy()
        row = {
            "feature": name,
            "psi": None,
            "mean_shift": None,
            "old_mean": old.get("mean"),
            "new_mean": round(float(present.mean()), 6) if present.size else None,
            "old_missing": missing_rate(old),
            "new_missing": round(1 - present.size / len(values), 6),
        }
        if summarized(old) and present.size:
            cuts = edges(old)
            counts = np.bincount(
                np.searchsorted(cuts, present, side="left"), minlength=len(cuts) + 1
            )
            row["psi"] = psi(masses(cdf_points(old), cuts), (counts / present.size).tolist())
            row["mean_shift"] = mean_shift(old, row["new_mean"])
        row["moved"] = moved(row, threshold)
        rows.append(row)
    rows.sort(key=lambda r: -(r["psi"] or 0.0))
    return {
        "threshold": threshold,
        "rows": {"training": training.get("rows"), "sample": len(frame)},
        "features": rows,
        "moved": [r["feature"] for r in rows if r["moved"]],
        "ignored_columns": [c for c in map(str, frame.columns) if c not in features],
        "noisy": len(frame) < NOISY_ROWS,
    }


def sample_lines(report: dict[str, Any]) -> list[str]:
    rows = report["rows"]
    moved_count = len(report["moved"])
    lines = [
        f"{rows['sample']} sample rows vs {rows['training']} training rows: {moved_count} of "
        f"{len(report['features'])} features moved (PSI > {report['threshold']:g})"
    ]
    if report["noisy"]:
        lines.append(f"  (fewer than {NOISY_ROWS} rows: PSI is noisy; take a larger sample)")
    lines += feature_lines(report, limit=50)
    if report["ignored_columns"]:
        lines.append(f"  not model inputs, ignored: {', '.join(report['ignored_columns'])}")
    if not moved_count:
        lines.append("  nothing moved: the sample looks like the training data")
    return lines
