"""What serving needs from the project: stage holders, stage events, verified loads, new tags.

Everything goes through the public API (`weightline.api`), except bringing the team's new stage
tags in, which is one `git fetch` of the artifact's tags from the git remote. Tags are immutable:
the refspecs have no `+`, so a tag that differs on the remote is reported, never overwritten.
`Registry` is the seam the follower is written against; tests give it a stand-in.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any, Protocol

from weightline import logs
from weightline.errors import WeightlineError
from weightline.serve.served import Loaded

log = logs.get(__name__)

_VERSION = re.compile(r"^(?:[^@#]+@)?(v\d+\.\d+\.\d+\S*)$")


class Registry(Protocol):
    """The follower's view of the registry."""

    artifact: str

    def refresh(self) -> None:
        """Bring in stage tags the team has pushed (a no-op when following local tags)."""

    def holders(self) -> dict[str, str]:
        """stage -> vX.Y.Z holding it now."""

    def resolve(self, ref: str) -> tuple[str, str]:
        """(vX.Y.Z, commit) of a reference."""

    def load(self, version: str) -> Loaded:
        """The version fetched, SHA-256-verified and loaded by the project's loader."""

    def stage_event(self, stage: str, version: str) -> dict[str, Any] | None:
        """The newest event that gave `stage` to `version`: who, when, why, gate verdict."""


def plain_version(text: str) -> str:
    """`model@v1.2.0` or `v1.2.0` -> `v1.2.0` (the API's forms differ by function)."""
    match = _VERSION.match(text.strip())
    return match[1] if match else text.strip()


def is_stage(ref: str) -> bool:
    """A stage name (production), not a version (v1.2.0, model@v1.2.0) nor a stage tag (#)."""
    return not re.match(r"^v\d", ref) and "@" not in ref and "#" not in ref


class ProjectRegistry:
    """The registry of a project on disk, through `weightline.api`."""

    def __init__(self, root: Path, remote: str | None) -> None:
        from weightline import api

        self.root = root
        self.remote = remote
        self.artifact = api.settings(root).artifact

    def refresh(self) -> None:
        if self.remote is None:
            return
        fetch_stage_tags(self.root, self.remote, self.artifact)

    def holders(self) -> dict[str, str]:
        from weightline import api

        return {stage: plain_version(v) for stage, v in api.stage_holders(self.root).items()}

    def resolve(self, ref: str) -> tuple[str, str]:
        from weightline import api

        found = api.resolve(ref, self.root)
        return plain_version(str(found.version)), found.commit

    def load(self, version: str) -> Loaded:
        from weightline import api

        loaded: Loaded = api.load_model(version, self.root)
        return loaded

    def stage_event(self, stage: str, version: str) -> dict[str, Any] | None:
        from weightline import api

        for row in reversed(api.stage_history(self.root)):
            if (
                row.get("stage") == stage
                and row.get("assigned")
                and plain_version(str(row.get("version"))) == version
            ):
                return describe_event(row)
        return None


def describe_event(row: dict[str, Any]) -> dict[str, Any]:
    """A stage_history row as /version shows it: the gate as its verdict and per-metric checks."""
    gate = _gate(row.get("gate"))
    return {
        "tag": row.get("tag"),
        "stage": row.get("stage"),
        "action": row.get("action"),
        "by": row.get("by"),
        "at": row.get("at"),
        "reason": row.get("reason") or None,
        "from_version": row.get("from_version"),
        "gate": gate,
    }


def _gate(text: Any) -> dict[str, Any] | None:
    if not text:
        return None
    try:
        report = json.loads(text) if isinstance(text, str) else text
    except ValueError:
        return {"verdict": "unreadable"}
    if not isinstance(report, dict):
        return {"verdict": "unreadable"}
    found = report.get("checks")
    checks: list[Any] = found if isinstance(found, list) else []
    return {
        "verdict": report.get("verdict"),
        "passed": report.get("passed"),
        "against": (report.get("production") or {}).get("version"),
        "checks": [
            {k: c.get(k) for k in ("metric", "candidate", "production", "rule", "passed")}
            for c in checks
            if isinstance(c, dict)
        ],
    }


def fetch_stage_tags(root: Path, remote: str, artifact: str) -> None:
    """`git fetch` the artifact's version and stage tags from `remote`, never overwriting one.

    A rejected tag (the remote's differs from ours: a moved tag, or a race two clones lost)
    is logged and the rest still arrive; an unreachable remote raises, naming it.
    """
    refspecs = [f"refs/tags/{artifact}{sep}*:refs/tags/{artifact}{sep}*" for sep in ("@", "#")]
    done = subprocess.run(
        ["git", "fetch", "--quiet", "--no-tags", remote, *refspecs],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode == 0:
        return
    message = done.stderr.strip()
    if "would clobber" in message or "[rejected]" in message:
        log.warning(
            "some tags on %s differ from this clone's and were not taken: %s", remote, message
        )
        return
    raise WeightlineError(
        f"could not fetch stage tags from git remote {remote!r}: {message or 'git fetch failed'}"
        " (check the remote, or serve with --local to follow this clone's own tags)"
    )
