"""The production gate's rules: per-metric verdicts and the report that goes into the stage tag.

A metric passes when it improves on production by at least min_abs_change and min_rel_change,
or, where neither is set, when it is worse by no more than tolerance. The first production
version, and a version promoted on a new hold-out set (a re-base), is held to absolute
thresholds instead: there is nothing comparable to measure a change against.
"""

from dataclasses import dataclass
from typing import Literal, NotRequired, TypedDict

Direction = Literal["higher", "lower"]
Verdict = Literal["pass", "fail", "refused"]
TOLERANCE = 1e-12  # float noise in a change that should be exactly zero


@dataclass
class Rule:
    direction: str = "higher"  # which way is better: higher or lower
    threshold: float | None = None  # the first production version must reach this
    min_abs_change: float = 0.0  # improvement required over production, absolute
    min_rel_change: float = 0.0  # and relative to production's value (0.01 = 1%)
    tolerance: float = 0.0  # with no improvement required: the largest regression allowed


@dataclass
class GateConfig:
    metrics: dict[str, Rule]


class Check(TypedDict):
    metric: str
    production: float | None
    candidate: float | None
    change: float | None
    rule: str
    passed: bool


class Scored(TypedDict):
    version: str
    sha256: NotRequired[str]
    metrics: NotRequired[dict[str, float]]


class Rebase(TypedDict):
    """A promotion on a new hold-out set, asked for explicitly, with the reason recorded."""

    from_holdout: str | None
    to_holdout: str
    reason: str


class Report(TypedDict):
    candidate: Scored
    production: Scored | None
    holdout_md5: str
    checks: list[Check]
    problems: list[str]
    verdict: Verdict
    passed: bool
    evaluator: NotRequired[dict[str, str]]  # the commit whose evaluator and rules were used
    rebase: NotRequired[Rebase]


def judge(name: str, rule: Rule, candidate: float | None, production: float | None) -> Check:
    """One metric's verdict; `production` None means absolute thresholds."""
    row: Check = {
        "metric": name,
        "production": production,
        "candidate": candidate,
        "change": None,
        "rule": "",
        "passed": False,
    }
    if candidate is None:
        row["rule"] = "metric missing from the candidate"
        return row
    sign = 1 if rule.direction == "higher" else -1
    better = "≥" if rule.direction == "higher" else "≤"
    if production is None:
        if rule.threshold is None:
            row["rule"], row["passed"] = "no threshold (reported only)", True
            return row
        passed = sign * (candidate - rule.threshold) >= 0
        row["rule"], row["passed"] = f"{better} {rule.threshold} (absolute threshold)", passed
        return row
    change = candidate - production
    improvement = sign * change
    if rule.min_abs_change > 0 or rule.min_rel_change > 0:
        required = max(rule.min_abs_change, rule.min_rel_change * abs(production))
        text = f"improve by ≥ {required:g}"
    else:
        required = -rule.tolerance
        text = f"worse by ≤ {rule.tolerance:g}" if rule.tolerance else "no worse"
    row["change"], row["rule"] = round(change, 6), text
    row["passed"] = improvement >= required - TOLERANCE
    return row


def verdict(checks: list[Check]) -> Verdict:
    return "pass" if all(check["passed"] for check in checks) else "fail"
