"""The validation gate: a candidate must do well enough on the frozen hold-out set to be production.

Both the candidate and the current production version are fetched from the DVC remote and
SHA-256-verified (never taken from the working tree), then scored by the project's own evaluate
function on the hold-out set, whose hash must be the one production was gated on. Rules per
metric come from conf/gate.yaml (Hydra): a metric passes when it improves by at least
min_abs_change and min_rel_change, or, where neither is set, when it is worse by no more than
tolerance. The first production version is held to absolute thresholds instead.
"""

import contextlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from weightline.domain.stages import StageEvent
from weightline.domain.tags import RegisteredVersion
from weightline.errors import WeightlineError
from weightline.ops.register import read_manifest
from weightline.settings import Settings, entry_point


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


@dataclass(frozen=True)
class Candidate:
    """What is gated: a registered version, or HEAD before registration (a pull request)."""

    name: str  # model@v1.2.0, or HEAD
    commit: str
    version: str  # v1.2.0, or HEAD

    @classmethod
    def of(cls, version: RegisteredVersion) -> "Candidate":
        return cls(version.name, version.commit, str(version.version))


def load_rules(settings: Settings) -> dict[str, Rule]:
    """conf/gate.yaml, composed by Hydra and checked against `Rule` (a typo names its key)."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    conf = settings.root / "conf"
    if not (conf / "gate.yaml").exists():
        raise WeightlineError("conf/gate.yaml is missing: it holds the promotion gate's rules")
    try:
        with initialize_config_dir(config_dir=str(conf), version_base=None):
            composed = compose(config_name="gate")
        merged = OmegaConf.merge(OmegaConf.structured(GateConfig), composed)
        rules = OmegaConf.to_object(merged).metrics
    except OmegaConfBaseException as error:
        key = getattr(error, "full_key", None) or "?"
        raise WeightlineError(
            f"conf/gate.yaml: {key}: {str(error).splitlines()[0]}; fix the rule"
        ) from None
    for name, rule in rules.items():
        if rule.direction not in ("higher", "lower"):
            raise WeightlineError(
                f"conf/gate.yaml: metrics.{name}.direction is {rule.direction!r}: "
                "use higher or lower"
            )
    if not rules:
        raise WeightlineError("conf/gate.yaml lists no metrics: the gate would check nothing")
    return rules


def holdout_md5(settings: Settings) -> str:
    """The hold-out set's DVC hash, after checking the workspace copy matches it."""
    from weightline.dvc.remote import status

    dvc_file = settings.path(f"{settings.holdout}.dvc")
    try:
        md5 = yaml.safe_load(dvc_file.read_text())["outs"][0]["md5"]
    except (OSError, KeyError, IndexError, TypeError, yaml.YAMLError):
        raise WeightlineError(
            f"cannot read the hold-out set's hash from {dvc_file.name}: the gate needs "
            f"{settings.holdout} tracked with `dvc add`"
        ) from None
    if status(settings.root, [str(dvc_file)]):
        raise WeightlineError(
            f"{settings.holdout} does not match {dvc_file.name}: `dvc pull {dvc_file.name}` "
            "(or `dvc checkout`) to restore the frozen hold-out set"
        )
    return md5


@contextlib.contextmanager
def working_directory(path: Path) -> Iterator[None]:
    """The project's evaluate function reads conf/ and data/ relative to the project root."""
    before = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def judge(name: str, rule: Rule, candidate: float | None, production: float | None) -> dict:
    row = {"metric": name, "production": production, "candidate": candidate, "change": None}
    if candidate is None:
        return row | {"rule": "metric missing from the candidate", "passed": False}
    sign = 1 if rule.direction == "higher" else -1
    better = "≥" if rule.direction == "higher" else "≤"
    if production is None:
        if rule.threshold is None:
            return row | {"rule": "no threshold (reported only)", "passed": True}
        passed = sign * (candidate - rule.threshold) >= 0
        return row | {"rule": f"{better} {rule.threshold} (first production)", "passed": passed}
    change = candidate - production
    improvement = sign * change
    if rule.min_abs_change > 0 or rule.min_rel_change > 0:
        required = max(rule.min_abs_change, rule.min_rel_change * abs(production))
        text = f"improve by ≥ {required:g}"
    else:
        required = -rule.tolerance
        text = f"worse by ≤ {rule.tolerance:g}" if rule.tolerance else "no worse"
    passed = improvement >= required - 1e-12
    return row | {"change": round(change, 6), "rule": text, "passed": passed}


def score(settings: Settings, candidate: Candidate, where: Path) -> tuple[dict, str]:
    """Fetch weights (SHA-256-verified) into `where` and score them on the hold-out set."""
    from weightline.ops.restore import get_commit

    weights, sha256 = get_commit(settings, candidate.commit, candidate.name, where)
    evaluate = entry_point(settings, "evaluate")
    with working_directory(settings.root):
        metrics = evaluate(weights)
    return {name: float(value) for name, value in metrics.items()}, sha256


def check(settings: Settings, candidate: Candidate, production: StageEvent | None) -> dict:
    """The gate report (JSON-ready): verdict, both versions' metrics, each rule, any refusal."""
    rules = load_rules(settings)
    holdout = holdout_md5(settings)
    report: dict = {
        "candidate": {"version": candidate.version},
        "production": {"version": str(production.version.version)} if production else None,
        "holdout_md5": holdout,
        "checks": [],
        "problems": [],
    }
    trained_on = read_manifest(settings, candidate.commit)["data"]["holdout"]["md5"]
    if trained_on != holdout:
        report["problems"].append(
            f"{candidate.name} was evaluated on hold-out {trained_on}, the project's hold-out "
            f"set is {holdout}"
        )
    gated_on = production.summary.get("holdout_md5") if production else None
    if gated_on and gated_on != holdout:
        report["problems"].append(
            f"the hold-out set changed since {production.version.name} was gated on it "
            f"(was {gated_on}, now {holdout}): the comparison would mean nothing"
        )
    if report["problems"]:
        return report | {"verdict": "refused", "passed": False}
    with tempfile.TemporaryDirectory(prefix="weightline-gate-") as tmp:
        metrics, sha = score(settings, candidate, Path(tmp) / "candidate")
        report["candidate"] |= {"sha256": sha, "metrics": metrics}
        baseline: dict = {}
        if production:
            current = Candidate.of(production.version)
            baseline, sha = score(settings, current, Path(tmp) / "production")
            report["production"] |= {"sha256": sha, "metrics": baseline}
    report["checks"] = [
        judge(name, rule, metrics.get(name), baseline.get(name) if production else None)
        for name, rule in rules.items()
    ]
    passed = all(check["passed"] for check in report["checks"])
    return report | {"verdict": "pass" if passed else "fail", "passed": passed}


def table(report: dict) -> str:
    """The report as the terminal (and a reviewer) reads it."""
    production = report["production"]
    against = f"{production['version']} (production)" if production else "absolute thresholds"
    lines = [
        f"gate: {report['candidate']['version']} (candidate) against {against}, "
        f"hold-out {report['holdout_md5']}"
    ]
    lines += [f"  refused: {problem}" for problem in report["problems"]]
    if report["checks"]:
        header = ("metric", "production", "candidate", "change", "rule", "result")
        rows = [header] + [
            (
                c["metric"],
                "-" if c["production"] is None else f"{c['production']:.6g}",
                "-" if c["candidate"] is None else f"{c['candidate']:.6g}",
                "-" if c["change"] is None else f"{c['change']:+.6g}",
                c["rule"],
                "pass" if c["passed"] else "FAIL",
            )
            for c in report["checks"]
        ]
        widths = [max(len(str(row[i])) for row in rows) for i in range(len(header))]
        for row in rows:
            lines.append(
                "  " + "  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True))
            )
    lines.append(f"verdict: {report['verdict'].upper()}")
    return "\n".join(line.rstrip() for line in lines)
