"""How far data moved, and whether by more than sampling noise explains.

Data moved between the training data of two versions (`weightline diff`), or from a version's
training data to a sample of rows (`weightline drift`). The manifest keeps, per feature, count,
missing, mean, std, min, max and 13 quantiles (summary.py), not the data. Two measures follow:

- Size: the population stability index (PSI) over the older distribution's quantile bins, whose
  expected masses are known exactly (0.01, 0.04, 0.05, 0.1, ...); the newer distribution's mass
  per bin is counted (a sample) or read off its own interpolated quantile function (a summary).
  PSI = sum over bins of (new - old) * ln(new / old), masses floored at 1e-4. Rule of thumb:
  below 0.1 nothing moved, above 0.2 (the default threshold) the model sees data unlike what it
  learned from.
- Significance: PSI alone cannot tell a move from noise: 36 rows spread over 14 bins give a PSI
  of about 0.4 with nothing moved at all. So a feature also needs a two-sample
  Kolmogorov-Smirnov test to say the move is real: the largest gap between the two distribution
  functions, against what `old_rows` and `new_rows` values drawn from one distribution would
  show, with Holm's correction over all features (default family-wise alpha 0.05). Against a
  sample, the gap is measured only where the summary knows the training distribution exactly
  (at its quantiles, with ties read as the range of probabilities they allow): that keeps the
  test valid (conservative) for discrete and tied features too. The missing rate is tested the
  same way (Fisher's exact test, in the same Holm family).

A feature MOVED when its distribution moved significantly and its PSI is above the threshold,
or its missing rate moved significantly by more than 5 points. On small samples only large
moves are significant; on huge ones the PSI threshold keeps tiny, real but harmless moves quiet.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from itertools import pairwise
from typing import Any, NotRequired, TypedDict

from weightline.errors import Refused

PSI_THRESHOLD = 0.2
ALPHA = 0.05  # family-wise: the chance that a same-distribution sample flags any feature
BALANCE_THRESHOLD = 0.05  # a class share moving by 5 points or more is flagged
MISSING_THRESHOLD = 0.05  # a missing rate moving by more than 5 points (and significantly)
FLOOR = 1e-4  # empty bins would make the logarithm infinite
TEST = "Kolmogorov-Smirnov and Fisher's exact test (missing rate), Holm-corrected"


class FeatureDrift(TypedDict):
    """One feature compared: size (PSI, mean shift), significance, missing rates."""

    feature: str
    old_rows: int | None  # values (not missing) on each side
    new_rows: int | None
    psi: float | None
    ks: float | None  # the largest gap between the two distribution functions
    noise: float | None  # the gap sampling alone stays below (at alpha over all tests)
    p_value: float | None  # that the distribution moved, Holm-adjusted
    mean_shift: float | None  # (new mean - old mean) / old std
    old_mean: float | None
    new_mean: float | None
    old_missing: float
    new_missing: float
    missing_p: float | None  # that the missing rate moved, Holm-adjusted (None: none missing)
    moved: bool


ClassShare = TypedDict("ClassShare", {"class": str, "old": float, "new": float, "delta": float})


class BalanceChange(TypedDict):
    classes: list[ClassShare]
    moved: bool


class EnvironmentChange(TypedDict):
    name: str
    old: object
    new: object


class RowCounts(TypedDict):
    old: int | None
    new: int | None


class DriftReport(TypedDict):
    """Training-data drift between two versions (old is the reference), as `diff` shows it."""

    threshold: float
    alpha: float
    test: str
    rows: RowCounts
    features: list[FeatureDrift]  # moved first, then by significance
    moved: list[str]
    added: list[str]
    removed: list[str]
    balance: BalanceChange | None
    environment: NotRequired[list[EnvironmentChange]]  # absent when only summaries were compared


class SampleRows(TypedDict):
    training: int | None
    sample: int


class SampleDriftReport(TypedDict):
    """A sample of rows against a version's training data, as `weightline drift` shows it."""

    version: NotRequired[str]  # the version's tag, when api.drift names it

    threshold: float
    alpha: float
    test: str
    rows: SampleRows
    features: list[FeatureDrift]
    moved: list[str]
    ignored_columns: list[str]


# ---- the summarized distribution ----------------------------------------------------------


def cdf_points(feature: Mapping[str, Any]) -> list[tuple[float, float]]:
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


def band(points: list[tuple[float, float]], x: float, inclusive: bool) -> tuple[float, float]:
    """What the knots alone say of P(X <= x) (inclusive) or P(X < x): (lowest, highest).

    A quantile at or below x puts at least its probability below x; one above x caps it. For a
    continuous feature at a knot this is exact; on ties it is the whole range they allow.
    """
    if inclusive:
        low = max((p for v, p in points if v <= x), default=0.0)
        high = min((p for v, p in points if v > x), default=1.0)
    else:
        low = max((p for v, p in points if v < x), default=0.0)
        high = min((p for v, p in points if v >= x), default=1.0)
    return low, max(low, high)


def edges(feature: Mapping[str, Any]) -> list[float]:
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


def mean_shift(old: Mapping[str, Any], new_mean: float | None) -> float | None:
    """(new mean - old mean) / old std; None when either is unknown or the std is zero."""
    if new_mean is None or old.get("mean") is None or not old.get("std"):
        return None
    return round((new_mean - float(old["mean"])) / float(old["std"]), 6)


def missing_rate(feature: Mapping[str, Any]) -> float:
    count, missing = feature.get("count", 0), feature.get("missing", 0)
    return round(missing / (count + missing), 6) if count + missing else 0.0


def summarized(feature: Mapping[str, Any]) -> bool:
    return feature.get("count", 0) > 0 and "min" in feature and "max" in feature


# ---- significance -------------------------------------------------------------------------


def check_limits(threshold: float, alpha: float) -> None:
    """Refuse thresholds that would make every comparison say the same thing."""
    if not math.isfinite(threshold) or threshold < 0:
        raise Refused(
            f"the PSI threshold must be a finite number of 0 or more, not {threshold}: "
            f"{PSI_THRESHOLD} is the usual one"
        )
    if not math.isfinite(alpha) or not 0 < alpha < 1:
        raise Refused(
            f"the significance level must be a number between 0 and 1, not {alpha}: "
            f"{ALPHA} is the usual one"
        )


def effective_rows(n: int, m: int | None) -> float:
    """Rows that two samples of n and m are worth in a two-sample test (m None: known exactly)."""
    return float(n) if not m else n * m / (n + m)


def kolmogorov_q(lam: float) -> float:
    """P(K > lam) for the Kolmogorov distribution (the limit of sqrt(n) * the KS gap)."""
    if lam < 0.2:
        return 1.0
    total = 0.0
    for k in range(1, 101):
        term = 2.0 * (-1) ** (k - 1) * math.exp(-2.0 * k * k * lam * lam)
        total += term
        if abs(term) < 1e-12:
            break
    return min(max(total, 0.0), 1.0)


def _scale(rows: float) -> float:
    """Stephens' small-sample correction: accurate from about 5 rows on."""
    root = math.sqrt(rows)
    return root + 0.12 + 0.11 / root


def ks_p_value(gap: float, n: int, m: int | None) -> float:
    """That two samples of n and m rows from one distribution show a gap this large or more."""
    return kolmogorov_q(_scale(effective_rows(n, m)) * gap)


def ks_noise(n: int, m: int | None, alpha: float) -> float:
    """The gap that samples of n and m rows from one distribution exceed with chance alpha."""
    low, high = 0.2, 10.0
    for _ in range(60):
        middle = (low + high) / 2
        low, high = (middle, high) if kolmogorov_q(middle) > alpha else (low, middle)
    return round(high / _scale(effective_rows(n, m)), 6)


def fisher_p_value(k1: int, n1: int, k2: int, n2: int) -> float | None:
    """Two-sided Fisher's exact test that k1 of n1 and k2 of n2 share one rate (None: no
    missing values on either side, nothing to test)."""
    total, hits = n1 + n2, k1 + k2
    if not n1 or not n2 or hits == 0 or hits == total:
        return None

    def log_p(x: int) -> float:  # x of the n2 draws are hits: the hypergeometric law
        return _log_choose(hits, x) + _log_choose(total - hits, n2 - x) - _log_choose(total, n2)

    observed = log_p(k2)
    found = sum(
        math.exp(value)
        for x in range(max(0, n2 - (total - hits)), min(hits, n2) + 1)
        if (value := log_p(x)) <= observed + 1e-7
    )
    return min(found, 1.0)


def _log_choose(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def holm(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm's step-down adjustment: compare each with alpha as it stands; None stays None."""
    order = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
    adjusted: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, (p, i) in enumerate(order):
        running = max(running, min(1.0, (len(order) - rank) * p))
        adjusted[i] = round(running, 6)
    return adjusted


def decide(rows: list[FeatureDrift], threshold: float, alpha: float) -> list[FeatureDrift]:
    """Adjust every row's p-values over the whole family, set `noise` and `moved`, and sort."""
    family = [r["p_value"] for r in rows] + [r["missing_p"] for r in rows]
    adjusted = holm(family)
    tests = sum(p is not None for p in family)
    for i, row in enumerate(rows):
        row["p_value"], row["missing_p"] = adjusted[i], adjusted[len(rows) + i]
        if row["new_rows"] and row["ks"] is not None:
            row["noise"] = ks_noise(row["new_rows"], row["old_rows"], alpha / max(tests, 1))
        distribution = (
            row["p_value"] is not None
            and row["p_value"] < alpha
            and row["psi"] is not None
            and row["psi"] > threshold
        )
        gaps = (
            row["missing_p"] is not None
            and row["missing_p"] < alpha
            and abs(row["new_missing"] - row["old_missing"]) > MISSING_THRESHOLD
        )
        row["moved"] = distribution or gaps
    return sorted(
        rows,
        key=lambda r: (
            not r["moved"],
            1.0 if r["p_value"] is None else r["p_value"],
            -(r["psi"] or 0),
        ),
    )


# ---- two versions' training data ----------------------------------------------------------


def _row(name: str, old: Mapping[str, Any], new_mean: float | None) -> FeatureDrift:
    return {
        "feature": name,
        "old_rows": old.get("count"),
        "new_rows": None,
        "psi": None,
        "ks": None,
        "noise": None,
        "p_value": None,
        "mean_shift": None,
        "old_mean": old.get("mean"),
        "new_mean": new_mean,
        "old_missing": missing_rate(old),
        "new_missing": 0.0,
        "missing_p": None,
        "moved": False,
    }


def tied(points: list[tuple[float, float]]) -> bool:
    """Whether two knots share a value: a discrete feature, or one with a heavy atom."""
    return any(a == b for (a, _), (b, _) in pairwise(points))


def summary_gap(before: list[tuple[float, float]], after: list[tuple[float, float]]) -> float:
    """The largest gap between two summarized distribution functions, at either's knots.

    Continuous features: interpolated between knots. Tied (discrete) ones: interpolation would
    invent gaps where a quantile merely moved from one integer to the next, so only the gap
    that the knots prove (between the ranges `band` allows) counts.
    """
    knots = sorted({v for v, _ in before} | {v for v, _ in after})
    if not (tied(before) or tied(after)):
        return max(abs(cdf(before, x) - cdf(after, x)) for x in knots)
    gap = 0.0
    for x in knots:
        for inclusive in (True, False):
            (low_a, high_a), (low_b, high_b) = band(before, x, inclusive), band(after, x, inclusive)
            gap = max(gap, low_a - high_b, low_b - high_a)
    return gap


def feature_drift(name: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> FeatureDrift:
    """PSI, KS gap, mean shift and missing rates of one feature between two summaries (its
    p-values still unadjusted: `decide` adjusts them over all features)."""
    row = _row(name, old, new.get("mean"))
    row["new_rows"] = new.get("count")
    row["new_missing"] = missing_rate(new)
    row["missing_p"] = fisher_p_value(
        int(old.get("missing", 0)),
        int(old.get("count", 0)) + int(old.get("missing", 0)),
        int(new.get("missing", 0)),
        int(new.get("count", 0)) + int(new.get("missing", 0)),
    )
    if summarized(old) and summarized(new):
        cuts, before, after = edges(old), cdf_points(old), cdf_points(new)
        row["psi"] = psi(masses(before, cuts), masses(after, cuts))
        gap = summary_gap(before, after)
        row["ks"] = round(gap, 6)
        row["p_value"] = ks_p_value(gap, int(new["count"]), int(old["count"]))
        row["mean_shift"] = mean_shift(old, new.get("mean"))
    return row


def balance_change(old: Mapping[str, Any], new: Mapping[str, Any]) -> BalanceChange | None:
    """Class shares before and after, and whether any moved by BALANCE_THRESHOLD or more."""
    before = (old.get("target") or {}).get("balance")
    after = (new.get("target") or {}).get("balance")
    if not before or not after:
        return None
    classes = sorted(before.keys() | after.keys())
    rows: list[ClassShare] = [
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


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def clean_summary(summary: object) -> dict[str, Any]:
    """A training-data summary with only what the arithmetic can use: numbers where numbers
    belong. A manifest is input from anyone who can push a commit; a summary whose "numbers"
    are text must give a feature without a distance, never a crash."""
    if not isinstance(summary, Mapping):
        return {}
    features: dict[str, dict[str, Any]] = {}
    raw_features = summary.get("features")
    for name, feature in raw_features.items() if isinstance(raw_features, Mapping) else ():
        if not isinstance(feature, Mapping):
            continue
        kept: dict[str, Any] = {
            key: int(feature[key]) if _is_number(feature.get(key)) and feature[key] >= 0 else 0
            for key in ("count", "missing")
        }
        kept |= {
            k: float(feature[k])
            for k in ("mean", "std", "min", "max")
            if _is_number(feature.get(k))
        }
        quantiles = feature.get("quantiles")
        if isinstance(quantiles, Mapping):
            kept["quantiles"] = {
                str(q): float(v) for q, v in quantiles.items() if _is_number(v) and _probability(q)
            }
        features[str(name)] = kept
    target = summary.get("target")
    balance = target.get("balance") if isinstance(target, Mapping) else None
    cleaned: dict[str, Any] = {
        "rows": summary.get("rows") if _is_number(summary.get("rows")) else None,
        "features": features,
    }
    if isinstance(balance, Mapping):
        shares = {str(c): float(v) for c, v in balance.items() if _is_number(v)}
        cleaned["target"] = {"balance": shares}
    return cleaned


def _probability(text: object) -> bool:
    try:
        return 0.0 <= float(str(text)) <= 1.0
    except ValueError:
        return False


def compare_summaries(
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    threshold: float = PSI_THRESHOLD,
    alpha: float = ALPHA,
) -> DriftReport:
    """Feature-by-feature drift between two `training_data` summaries (old is the reference)."""
    check_limits(threshold, alpha)
    old, new = clean_summary(old), clean_summary(new)
    old_features, new_features = old.get("features") or {}, new.get("features") or {}
    common = [name for name in old_features if name in new_features]
    rows = [feature_drift(name, old_features[name], new_features[name]) for name in common]
    features = decide(rows, threshold, alpha)
    return {
        "threshold": threshold,
        "alpha": alpha,
        "test": TEST,
        "rows": {"old": old.get("rows"), "new": new.get("rows")},
        "features": features,
        "moved": [r["feature"] for r in features if r["moved"]],
        "added": sorted(new_features.keys() - old_features.keys()),
        "removed": sorted(old_features.keys() - new_features.keys()),
        "balance": balance_change(old, new),
    }


def environment_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[EnvironmentChange]:
    """Python, platform and key package versions that differ (a changed full list is named too)."""
    changes: list[EnvironmentChange] = []
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


def training_drift(
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    threshold: float = PSI_THRESHOLD,
    alpha: float = ALPHA,
) -> DriftReport:
    """What `weightline diff` adds: training-data drift, class balance, environment changes.

    `old` and `new` are whole manifests; the older version is the reference distribution.
    """
    result = compare_summaries(
        old.get("training_data") or {}, new.get("training_data") or {}, threshold, alpha
    )
    result["environment"] = environment_changes(
        old.get("environment") or {}, new.get("environment") or {}
    )
    return result


# ---- text ---------------------------------------------------------------------------------


def number(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def p_text(value: float | None) -> str:
    if value is None:
        return "-"
    return "< 0.0001" if value < 0.0001 else f"{value:.4f}".rstrip("0").rstrip(".")


def rule(threshold: float, alpha: float) -> str:
    return f"PSI > {threshold:g} and beyond sampling noise, p < {alpha:g}"


def feature_line(r: FeatureDrift) -> str:
    """`MOVED name: PSI 1.234, gap 0.41 (noise < 0.27 at 36 vs 455 rows, p 0.0001), ...`."""
    flag = "MOVED " if r["moved"] else "      "
    parts = [f"PSI {number(r['psi'])}"]
    if r["ks"] is not None:
        rows = f"{r['new_rows']} vs {r['old_rows']} rows"
        parts.append(
            f"gap {number(r['ks'], 2)} (noise < {number(r['noise'], 2)} at {rows}, "
            f"p {p_text(r['p_value'])})"
        )
    if r["mean_shift"] is not None:
        parts.append(f"mean {r['mean_shift']:+.2f} std")
    if r["old_missing"] != r["new_missing"]:
        parts.append(
            f"missing {r['old_missing']:.0%} -> {r['new_missing']:.0%} (p {p_text(r['missing_p'])})"
        )
    return f"  {flag}{r['feature']}: {', '.join(parts)}"


def feature_lines(rows: list[FeatureDrift], limit: int = 10) -> list[str]:
    """The features that moved (or the few nearest to moving), one line each."""
    shown = [r for r in rows if r["moved"]] or rows[:3]
    lines = [feature_line(r) for r in shown[:limit]]
    if len(shown) > limit:
        lines.append(f"  ... and {len(shown) - limit} more (--json for all)")
    return lines


def drift_lines(report: DriftReport) -> list[str]:
    """`weightline diff`'s text for training_drift(): what moved, balance, environment."""
    rows = report["rows"]
    lines = [
        f"training data: {rows['old']} -> {rows['new']} rows; {len(report['moved'])} of "
        f"{len(report['features'])} features moved ({rule(report['threshold'], report['alpha'])})"
    ]
    lines += feature_lines(report["features"])
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


def sample_gap(points: list[tuple[float, float]], ordered: Any) -> float:
    """The largest gap between a sorted sample's distribution function and what the knots say
    of the training one, measured at the knots (where the summary is exact)."""
    import numpy as np

    n = len(ordered)
    gap = 0.0
    for x in sorted({v for v, _ in points}):
        at_most = float(np.searchsorted(ordered, x, side="right")) / n
        below = float(np.searchsorted(ordered, x, side="left")) / n
        for share, inclusive in ((at_most, True), (below, False)):
            low, high = band(points, x, inclusive)
            gap = max(gap, low - share, share - high)
    return gap


def sample_feature(name: str, old: Mapping[str, Any], raw: Any) -> FeatureDrift:
    """One training feature against a sample's column (p-values still unadjusted)."""
    import numpy as np
    import pandas as pd

    values = pd.to_numeric(raw, errors="coerce").astype("float64")
    text = int((values.isna() & raw.notna()).sum())
    if text:
        raise Refused(
            f"column {name!r} of the sample has {text} non-numeric value(s), "
            f"e.g. {raw[values.isna() & raw.notna()].iloc[0]!r}: the model takes numbers"
        )
    present = np.sort(values.dropna().to_numpy())
    row = _row(name, old, round(float(present.mean()), 6) if present.size else None)
    row["new_rows"] = int(present.size)
    row["new_missing"] = round(1 - present.size / len(values), 6)
    row["missing_p"] = fisher_p_value(
        int(old.get("missing", 0)),
        int(old.get("count", 0)) + int(old.get("missing", 0)),
        len(values) - int(present.size),
        len(values),
    )
    if summarized(old) and present.size:
        cuts = edges(old)
        counts = np.bincount(np.searchsorted(cuts, present, side="left"), minlength=len(cuts) + 1)
        row["psi"] = psi(masses(cdf_points(old), cuts), (counts / present.size).tolist())
        gap = sample_gap(cdf_points(old), present)
        row["ks"] = round(gap, 6)
        row["p_value"] = ks_p_value(gap, int(present.size), int(old["count"]))
        row["mean_shift"] = mean_shift(old, row["new_mean"])
    return row


def sample_drift(
    manifest: Mapping[str, Any],
    frame: Any,
    threshold: float = PSI_THRESHOLD,
    alpha: float = ALPHA,
) -> SampleDriftReport:
    """Each training feature of a version against the same column of a sample (a DataFrame)."""
    check_limits(threshold, alpha)
    training = clean_summary(manifest.get("training_data"))
    features = training["features"]
    if not features:
        raise Refused("this version's manifest has no training-data summary to compare")
    missing = [name for name in features if name not in frame.columns]
    if missing:
        shown = ", ".join(missing[:10]) + (" ..." if len(missing) > 10 else "")
        raise Refused(
            f"the sample lacks {len(missing)} of the model's input column(s): {shown}; "
            "give a file with the same column names as the training data"
        )
    rows = [sample_feature(name, old, frame[name]) for name, old in features.items()]
    decided = decide(rows, threshold, alpha)
    return {
        "threshold": threshold,
        "alpha": alpha,
        "test": TEST,
        "rows": {"training": training.get("rows"), "sample": len(frame)},
        "features": decided,
        "moved": [r["feature"] for r in decided if r["moved"]],
        "ignored_columns": [c for c in map(str, frame.columns) if c not in features],
    }


def sample_lines(report: Mapping[str, Any]) -> list[str]:
    """`weightline drift`'s text for a SampleDriftReport (as api.drift returns it)."""
    rows = report["rows"]
    moved_count = len(report["moved"])
    lines = [
        f"{rows['sample']} sample rows vs {rows['training']} training rows: {moved_count} of "
        f"{len(report['features'])} features moved ({rule(report['threshold'], report['alpha'])})"
    ]
    lines += feature_lines(report["features"], limit=50)
    if report["ignored_columns"]:
        lines.append(f"  not model inputs, ignored: {', '.join(report['ignored_columns'])}")
    if not moved_count:
        lines.append("  nothing moved: the sample looks like the training data")
    return lines
