"""`weightline reproduce`: retrain a version from its own commit, away from the user's work.

A temporary `git worktree` at the version's commit (the user's working tree, index and HEAD are
never touched), DVC pointed at the user's cache and remotes, `dvc pull`, then `dvc repro --force`
with that commit's own code on PYTHONPATH. The new weights' SHA-256 and metrics are compared with
the version's manifest: "bit-exact", "same metrics, different bytes" or "differs" (with the
changes that explain it). The worktree is removed afterwards, also when something fails.
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from weightline import logs, progress
from weightline.domain.manifest import Manifest, parse
from weightline.settings import Settings
from weightline.store.digest import sha256_file

log = logs.get(__name__)
Verdict = Literal["bit-exact", "same metrics, different bytes", "differs"]
BIT_EXACT: Verdict = "bit-exact"
SAME_METRICS: Verdict = "same metrics, different bytes"
DIFFERS: Verdict = "differs"


@dataclass
class Result:
    version: str
    verdict: Verdict
    expected_sha256: str
    actual_sha256: str
    metrics: list[dict[str, Any]]  # name, recorded, reproduced, delta
    differences: dict[str, list[str]] = field(default_factory=dict)  # what differs, by section
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def lines(self) -> list[str]:
        out = [f"{self.version}: {self.verdict}"]
        out.append(f"  weights sha256 recorded   {self.expected_sha256}")
        out.append(f"  weights sha256 reproduced {self.actual_sha256}")
        changed = [m for m in self.metrics if m["recorded"] != m["reproduced"]]
        if changed:
            out.append("  metrics that differ:")
            out += [
                f"    {m['name']}: {m['recorded']} -> {m['reproduced']}"
                + (f" ({m['delta']:+g})" if m["delta"] is not None else "")
                for m in changed
            ]
        else:
            out.append(f"  metrics: all {len(self.metrics)} identical")
        for section, items in self.differences.items():
            if items:
                out.append(f"  {section} differs from the recorded run:")
                out += [f"    {item}" for item in items]
        return out


def metric_rows(recorded: dict[str, Any], reproduced: dict[str, Any]) -> list[dict[str, Any]]:
    """The metrics' changes (as `weightline diff` finds them), labelled for a reproduction."""
    from weightline.domain.compare import metric_changes

    return [
        {"name": m["name"], "recorded": m["old"], "reproduced": m["new"], "delta": m["delta"]}
        for m in metric_changes(recorded, reproduced)
    ]


def explain(recorded: Manifest, reproduced: Manifest) -> dict[str, list[str]]:
    """What differs between the recorded run and this one that could change the weights."""
    from weightline.domain.compare import diff

    found = diff(recorded, reproduced)
    return {
        "environment": [
            f"{c['name']}: {c['old']} -> {c['new']}" for c in found["drift"]["environment"]
        ],
        "data": [f"{c['path']}: {c['old']} -> {c['new']}" for c in found["data"]],
        "config": [f"{c['key']}: {c['old']} -> {c['new']}" for c in found["config"]],
    }


def verdict(same_bytes: bool, metrics: list[dict[str, Any]]) -> Verdict:
    if same_bytes:
        return BIT_EXACT
    if all(m["recorded"] == m["reproduced"] for m in metrics):
        return SAME_METRICS
    return DIFFERS


def lock_differences(settings: Settings, commit: str) -> list[str]:
    """Installed packages that differ from the lock file at `commit` (`name==version` lines),
    or a note when the version has no lock: what could make a reproduction differ."""
    import importlib.metadata
    import re

    from weightline.store import git

    text = git.show(settings.root, commit, settings.lock)
    if text is None:
        return [f"the version has no {settings.lock}: its environment was not locked"]
    installed = {
        re.sub(r"[-_.]+", "-", (dist.metadata["Name"] or "").lower()): dist.version
        for dist in importlib.metadata.distributions()
    }
    found = []
    for line in text.splitlines():
        match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^\s;\\]+)", line.strip())
        if not match:
            continue
        name = re.sub(r"[-_.]+", "-", match[1].lower())
        locked, here = match[3], installed.get(name)
        if here != locked:
            found.append(f"{name}: locked {locked}, installed {here or 'nothing'}")
    return found


def repro_stage_by_stage(args: list[str], tree: Path, env: dict[str, str], tag: str) -> None:
    """`dvc repro`, saying each stage as DVC starts it (the minutes go to training)."""
    import re
    import subprocess

    from weightline.errors import WeightlineError

    output: list[str] = []
    with subprocess.Popen(
        args,
        cwd=tree,
        env={**env, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            stage = re.match(r"Running stage '([^']+)'", line)
            if stage:
                progress.phase(f"reproduce {tag} [3/4]: stage {stage[1]}")
    if process.returncode != 0:
        text = "".join(output).strip()
        raise WeightlineError(
            f"`dvc repro --force` failed in a temporary worktree:\n{text[-3000:]}"
        )


def reproduce(settings: Settings, tag: str, commit: str, manifest: Manifest) -> Result:
    """Retrain `tag` at `commit` in a temporary worktree; compare with its manifest."""
    import time

    from weightline.dvc.worktree import environment, run, worktree

    started = time.monotonic()
    drifted = lock_differences(settings, commit)
    for difference in drifted:  # said before the minutes of retraining, not only after
        log.warning("reproducing %s in another environment: %s", tag, difference)
    progress.phase(f"reproduce {tag} [1/4]: a temporary worktree at {commit[:10]}")
    with worktree(settings.root, commit, "weightline-reproduce-") as tree:
        env = environment(tree)
        dvc = [sys.executable, "-m", "dvc"]
        progress.phase(f"reproduce {tag} [2/4]: dvc pull (its data and the cache's outputs)")
        run([*dvc, "pull"], tree, env, "`dvc pull` (are the data on the DVC remote? `dvc push`)")
        progress.phase(f"reproduce {tag} [3/4]: dvc repro --force (retraining)")
        repro_stage_by_stage([*dvc, "repro", "--force"], tree, env, tag)
        progress.phase(f"reproduce {tag} [4/4]: comparing weights and metrics with the manifest")
        actual = sha256_file(tree / manifest["weights"]["path"])
        new_manifest = parse((tree / settings.manifest).read_text(), "the reproduced manifest")
    expected = manifest["weights"]["sha256"]
    metrics = metric_rows(manifest.get("metrics") or {}, new_manifest.get("metrics") or {})
    result = Result(
        version=tag,
        verdict=verdict(actual == expected, metrics),
        expected_sha256=expected,
        actual_sha256=actual,
        metrics=metrics,
        seconds=round(time.monotonic() - started, 1),
    )
    if result.verdict != BIT_EXACT:
        result.differences = explain(manifest, new_manifest)
    result.differences["lock"] = drifted
    return result
