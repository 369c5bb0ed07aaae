"""Stage changes: promote, rollback, archive. Each writes new GTO stage tags and never moves one.

Every change records who (the identity git itself uses), when, from which version and why in the
tag message, under the repository's writer lock, reading the registry through the index. Tag
times are kept strictly increasing (GTO orders by them, to the second), so `gto show
model#production` agrees with `weightline stages`.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from weightline.domain.gate import Report
from weightline.domain.stages import History, StageEvent, stage_tag
from weightline.domain.tags import RegisteredVersion
from weightline.errors import NotFound, Refused
from weightline.settings import Settings
from weightline.store import git
from weightline.store.index import open_index
from weightline.store.locks import exclusive


@dataclass(frozen=True)
class StageChange:
    """What a stage change wrote: its tags, in order, and the gate report if there was one."""

    tags: list[str]
    version: RegisteredVersion
    report: Report | None = None


def _tag_time(events: list[StageEvent]) -> int:
    """Now, or one second after the newest stage tag if that is not earlier (same-second events)."""
    from datetime import datetime

    newest = max((int(datetime.fromisoformat(e.tag.date).timestamp()) for e in events), default=0)
    return max(int(time.time()), newest + 1)


def write_event(
    settings: Settings,
    past: History,
    version: RegisteredVersion,
    stage: str,
    assigned: bool,
    summary: dict[str, Any],
) -> str:
    """Create one stage tag (assignment or unassignment) and return its name; `past` is then
    read again from the index, so the next event sees this one."""
    with open_index(settings) as index:
        number = index.next_stage_number()
    artifact = settings.artifact
    name = stage_tag(artifact, stage, number, assigned)
    sentence = (
        f"Assigning stage {stage} to artifact {artifact} version {version.version}"
        if assigned
        else f"Unassigning stage {stage} from artifact {artifact} version {version.version}"
    )
    when = _tag_time(past.events)
    record = {
        "version": str(version.version),
        "by": git.identity(settings.root),
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when)),
        **summary,
    }
    message = f"{sentence}\n\n{json.dumps(record, sort_keys=True)}\n"
    git.create_tag(settings.root, name, version.commit, message, timestamp=when)
    with open_index(settings) as index:
        past.events[:] = index.stage_events()
    return name


def check_stage(settings: Settings, stage: str) -> None:
    if stage not in settings.stages:
        raise NotFound(f"unknown stage {stage!r}: .gto allows {', '.join(settings.stages)}")


def promote(
    settings: Settings, ref: str, stage: str, reason: str = "", rebase: str | None = None
) -> StageChange:
    """Assign `stage` to a version; production first passes the gate.

    A failed gate writes nothing and returns no tags (the report says why). `rebase` (a reason)
    accepts a hold-out set that changed since production was gated (see ops/gate.py).
    """
    from weightline.ops.gate import Candidate, check

    check_stage(settings, stage)
    with exclusive(settings.root), open_index(settings) as index:
        past = index.history()
        version = index.resolve(ref)
        current = past.held.get(stage)
        if current and current.version.name == version.name:
            raise Refused(f"{version.name} is already in {stage} ({current.tag.name})")
        required = settings.stage_order.get(stage)
        if required and not past.has_been(version, required):
            raise Refused(
                f"{version.name} has never been in {required}: promote it to {required} first "
                f"(stage order: {stage} needs {required}; see stage_order in [tool.weightline])"
            )
        summary: dict[str, Any] = {
            "action": "promote",
            "from_version": str(current.version.version) if current else None,
            "reason": reason,
        }
        report = None
        if stage == "production":
            report = check(settings, Candidate.of(version), current, rebase)
            if not report["passed"]:
                return StageChange([], version, report)
            summary["gate"] = report
            summary["holdout_md5"] = report["holdout_md5"]
        name = write_event(settings, past, version, stage, True, summary)
        return StageChange([name], version, report)


def rollback(settings: Settings, stage: str, reason: str = "") -> StageChange:
    """Give `stage` back to the version that held it before: unassign the current, reassign it.

    "Before" is the newest earlier holder that was never unassigned from the stage, so rolling
    back twice never returns to the version the first rollback removed.
    """
    check_stage(settings, stage)
    with exclusive(settings.root), open_index(settings) as index:
        past = index.history()
        active = past.active(stage)
        if not active:
            raise Refused(f"no version is in {stage}: nothing to roll back")
        if len(active) < 2:
            raise Refused(
                f"{active[0].version.name} is the only version that has been in {stage}: "
                "there is nothing earlier to roll back to"
            )
        current, previous = active[0], active[1]
        common = {"action": "rollback", "reason": reason}
        unassigned = write_event(
            settings,
            past,
            current.version,
            stage,
            False,
            common | {"to_version": str(previous.version.version)},
        )
        assigned = write_event(
            settings,
            past,
            previous.version,
            stage,
            True,
            common
            | {
                "from_version": str(current.version.version),
                "holdout_md5": previous.summary.get("holdout_md5"),
            },
        )
        return StageChange([unassigned, assigned], previous.version)


def archive(settings: Settings, ref: str, reason: str = "") -> StageChange:
    """Move a version to `archived` (unassigning its other stages); never a production version."""
    check_stage(settings, "archived")
    with exclusive(settings.root), open_index(settings) as index:
        past = index.history()
        version = index.resolve(ref)
        held = past.held
        if held.get("production") and held["production"].version.name == version.name:
            raise Refused(
                f"{version.name} is in production: promote another version or "
                "roll production back before archiving it"
            )
        if any(e.version.name == version.name for e in past.active("archived")):
            raise Refused(f"{version.name} is already archived")
        written = []
        action = {"action": "archive", "reason": reason}
        for stage in sorted({e.stage for e in past.events} - {"archived"}):
            if any(e.version.name == version.name for e in past.active(stage)):
                written.append(write_event(settings, past, version, stage, False, dict(action)))
        written.append(write_event(settings, past, version, "archived", True, action))
        return StageChange(written, version)
