"""Running the validation gate: a candidate must do well enough on the frozen hold-out set.

Whose rules: the evaluator, conf/gate.yaml and the hold-out set of the release branch's commit
(committed, reviewed), in a clean temporary worktree of it. Uncommitted edits never decide a
promotion, and the report records which commit's evaluator it used.

What is scored: the candidate and the current production version, fetched (SHA-256-verified,
from the local DVC cache or the remote, never the working tree) and scored by the project's
own evaluate function on that hold-out set. If production was gated on another hold-out set,
the comparison would mean nothing: the gate refuses, unless a re-base is asked for with a
reason, which holds the candidate to the absolute thresholds and is recorded in the stage tag.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from weightline.domain.gate import GateConfig, Rebase, Report, Rule, judge, verdict
from weightline.domain.stages import StageEvent
from weightline.domain.tags import RegisteredVersion
from weightline.errors import ConfigurationError, NotFound, WeightlineError
from weightline.settings import Settings
from weightline.store import git
from weightline.store.manifests import read_manifest


@dataclass(frozen=True)
class Candidate:
    """What is gated: a registered version, or HEAD before registration (a pull request)."""

    name: str  # model@v1.2.0, or HEAD
    commit: str
    version: str  # v1.2.0, or HEAD

    @classmethod
    def of(cls, version: RegisteredVersion) -> Candidate:
        return cls(version.name, version.commit, str(version.version))


def load_rules(conf: Path) -> dict[str, Rule]:
    """conf/gate.yaml, composed by Hydra and checked against `Rule` (a typo names its key)."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    if not (conf / "gate.yaml").exists():
        raise ConfigurationError("conf/gate.yaml is missing: it holds the promotion gate's rules")
    try:
        with initialize_config_dir(config_dir=str(conf), version_base=None):
            composed = compose(config_name="gate")
        merged = OmegaConf.merge(OmegaConf.structured(GateConfig), composed)
        config = OmegaConf.to_object(merged)
        assert isinstance(config, GateConfig)
        rules = config.metrics
    except OmegaConfBaseException as error:
        key = getattr(error, "full_key", None) or "?"
        raise ConfigurationError(
            f"conf/gate.yaml: {key}: {str(error).splitlines()[0]}; fix the rule"
        ) from error
    for name, rule in rules.items():
        if rule.direction not in ("higher", "lower"):
            raise ConfigurationError(
                f"conf/gate.yaml: metrics.{name}.direction is {rule.direction!r}: "
                "use higher or lower"
            )
    if not rules:
        raise ConfigurationError("conf/gate.yaml lists no metrics: the gate would check nothing")
    return rules


def evaluator_commit(settings: Settings) -> tuple[str, str]:
    """(ref, commit) of the release branch: locally, else as the git remote has it."""
    branch = settings.release_branch
    for ref in (f"refs/heads/{branch}", f"refs/remotes/{settings.git_remote}/{branch}"):
        commit = git.rev(settings.root, ref)
        if commit:
            return ref.removeprefix("refs/heads/").removeprefix("refs/remotes/"), commit
    raise NotFound(
        f"there is no release branch {branch!r} here or on {settings.git_remote}: the gate runs "
        f"the evaluator and rules committed there (fetch it, or set release_branch in "
        "[tool.weightline])"
    )


def holdout_md5_at(settings: Settings, commit: str) -> str:
    """The hold-out set's DVC hash as `<holdout>.dvc` at `commit` records it."""
    dvc_file = f"{settings.holdout}.dvc"
    text = git.show(settings.root, commit, dvc_file)
    try:
        md5 = yaml.safe_load(text or "")["outs"][0]["md5"]
    except (KeyError, IndexError, TypeError, yaml.YAMLError):
        raise ConfigurationError(
            f"cannot read the hold-out set's hash from {dvc_file} at {commit[:10]}: the gate "
            f"needs {settings.holdout} tracked with `dvc add`"
        ) from None
    return str(md5)


def uncommitted_rules(settings: Settings) -> list[str]:
    """Paths that decide the gate and differ from HEAD in the working tree (reported, unused)."""
    dirty = git.dirty_paths(settings.root)
    return [
        path for path in dirty if path.startswith(("conf/", "src/")) or path == "pyproject.toml"
    ]


def score(tree: Path, weights: list[Path]) -> dict[str, dict[str, float]]:
    """The committed evaluator's metrics for each weights file, run in the worktree `tree`."""
    from weightline.dvc.worktree import environment

    done = subprocess.run(
        [sys.executable, "-m", "weightline.ops.evaluation", *map(str, weights)],
        cwd=tree,
        env=environment(tree),
        capture_output=True,
        text=True,
        errors="replace",
    )
    if done.returncode != 0:
        raise WeightlineError(
            "the project's evaluate function failed on the hold-out set:\n"
            + (done.stderr.strip() or done.stdout.strip())[-3000:]
        )
    found: dict[str, dict[str, float]] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def check(
    settings: Settings,
    candidate: Candidate,
    production: StageEvent | None,
    rebase: str | None = None,
) -> Report:
    """The gate report (JSON-ready): verdict, both versions' metrics, each rule, any refusal.

    `rebase` (a reason) accepts a hold-out set that changed since production was gated, holding
    the candidate to the absolute thresholds.
    """
    from weightline.dvc.worktree import pull, worktree
    from weightline.ops.restore import get_commit

    ref, commit = evaluator_commit(settings)
    holdout = holdout_md5_at(settings, commit)
    report: Report = {
        "candidate": {"version": candidate.version},
        "production": {"version": str(production.version.version)} if production else None,
        "holdout_md5": holdout,
        "checks": [],
        "problems": [],
        "verdict": "refused",
        "passed": False,
        "evaluator": {"ref": ref, "commit": commit},
    }
    holdout_item = read_manifest(settings, candidate.commit)["data"]["holdout"]
    trained_on = holdout_item["md5"] if holdout_item else None
    if trained_on != holdout:
        report["problems"].append(
            f"{candidate.name} was evaluated on hold-out {trained_on}, the hold-out set on "
            f"{ref} is {holdout}"
        )
    gated_on = production.summary.get("holdout_md5") if production else None
    compare = production is not None
    if production is not None and gated_on and gated_on != holdout:
        if rebase:
            report["rebase"] = Rebase(from_holdout=gated_on, to_holdout=holdout, reason=rebase)
            compare = False
        else:
            report["problems"].append(
                f"the hold-out set changed since {production.version.name} was gated on it "
                f"(was {gated_on}, now {holdout}): the comparison would mean nothing; re-base "
                "the gate on the new hold-out set (absolute thresholds) with a reason"
            )
    if report["problems"]:
        return report
    with (
        tempfile.TemporaryDirectory(prefix="weightline-gate-") as tmp,
        worktree(settings.root, commit, "weightline-gate-") as tree,
    ):
        pull(tree, f"{settings.holdout}.dvc", "fetching the hold-out set for the gate")
        rules = load_rules(tree / "conf")
        paths = {}
        weights, sha, _ = get_commit(settings, candidate.commit, candidate.name, Path(tmp) / "c")
        paths["candidate"] = weights
        report["candidate"]["sha256"] = sha
        if production is not None:
            current = Candidate.of(production.version)
            weights, sha, _ = get_commit(settings, current.commit, current.name, Path(tmp) / "p")
            paths["production"] = weights
            assert report["production"] is not None
            report["production"]["sha256"] = sha
        scores = score(tree, list(paths.values()))
    metrics = scores[str(paths["candidate"])]
    report["candidate"]["metrics"] = metrics
    baseline: dict[str, float] = {}
    if "production" in paths and report["production"] is not None:
        baseline = scores[str(paths["production"])]
        report["production"]["metrics"] = baseline
    report["checks"] = [
        judge(name, rule, metrics.get(name), baseline.get(name) if compare else None)
        for name, rule in rules.items()
    ]
    report["verdict"] = verdict(report["checks"])
    report["passed"] = report["verdict"] == "pass"
    return report
