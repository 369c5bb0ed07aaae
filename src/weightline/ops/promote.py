"""Stage changes: promote, rollback, archive. Each writes new GTO stage tags and never moves one.

Every change records who, when, from which version and why in the tag message, and they take
turns on the registration lock. Tag times are kept strictly increasing (GTO orders by them, to the
second), so `gto show model#production` always agrees with `weightline stages`.
"""

import json
import time
from dataclasses import dataclass

from weightline.domain.stages import (
    StageEvent,
    active,
    allowed_stages,
    holders,
    next_number,
    stage_events,
)
from weightline.domain.tags import RegisteredVersion, registered_versions
from weightline.errors import WeightlineError
from weightline.ops.register import exclusive, resolve
from weightline.settings import Settings
from weightline.store import git
from weightline.store.index import remember


@dataclass(frozen=True)
class History:
    versions: list[RegisteredVersion]
    events: list[StageEvent]

    @property
    def held(self) -> dict[str, StageEvent]:
        return holders(self.events)

    def active(self, stage: str) -> list[StageEvent]:
        """Versions whose last event for `stage` is an assignment, newest assignment first."""
        rows = [(e.stage, e.version.name, e.assigned) for e in self.events]
        return [self.events[position] for position in active(rows).get(stage, [])]

    def has_been(self, version: RegisteredVersion, stage: str) -> bool:
        return any(e.assigned and e.stage == stage and e.version == version for e in self.events)


def history(settings: Settings) -> History:
    versions = registered_versions(settings.root, settings.artifact)
    return History(versions, stage_events(settings.root, settings.artifact, versions))


def identity(settings: Settings) -> str:
    name = git.config(settings.root, "user.name")
    email = git.config(settings.root, "user.email")
    if not name:
        raise WeightlineError("git has no user.name: set it (git config user.name ...) first")
    return f"{name} <{email}>" if email else name


def _tag_time(settings: Settings, events: list[StageEvent]) -> int:
    """Now, or one second after the newest stage tag if that is not earlier (same-second events)."""
    newest = max((_epoch(e.tag.date) for e in events), default=0)
    return max(int(time.time()), newest + 1)


def _epoch(iso: str) -> int:
    from datetime import datetime

    return int(datetime.fromisoformat(iso).timestamp())


def write_event(
    settings: Settings,
    past: History,
    version: RegisteredVersion,
    stage: str,
    assigned: bool,
    summary: dict,
) -> str:
    """Create one stage tag (assignment or unassignment) and return its name."""
    number = next_number(settings.root, settings.artifact)
    artifact = settings.artifact
    name = f"{artifact}#{stage}{'' if assigned else '!'}#{number}"
    sentence = (
        f"Assigning stage {stage} to artifact {artifact} version {version.version}"
        if assigned
        else f"Unassigning stage {stage} from artifact {artifact} version {version.version}"
    )
    when = _tag_time(settings, past.events)
    record = {
        "version": str(version.version),
        "by": identity(settings),
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when)),
        **summary,
    }
    message = f"{sentence}\n\n{json.dumps(record, sort_keys=True)}\n"
    git.create_tag(settings.root, name, version.commit, message, timestamp=when)
    remember(settings)
    past.events.append(
        StageEvent(
            tag=git_tag(settings, name),
            stage=stage,
            number=number,
            assigned=assigned,
            version=version,
            summary=record,
        )
    )
    return name


def git_tag(settings: Settings, name: str):
    from weightline.domain.tags import read_tags

    return next(t for t in read_tags(settings.root, name) if t.name == name)


def check_stage(settings: Settings, stage: str) -> None:
    stages = allowed_stages(settings.root)
    if stage not in stages:
        raise WeightlineError(f"unknown stage {stage!r}: .gto allows {', '.join(stages)}")


def promote(settings: Settings, ref: str, stage: str, reason: str = "") -> tuple[str, dict | None]:
    """Assign `stage` to a version; production first passes the gate.

    Returns the new tag and the gate report; a failed gate returns no tag and writes nothing.
    """
    from weightline.ops.gate import Candidate, check

    check_stage(settings, stage)
    with exclusive(settings):
        past = history(settings)
        version = resolve(settings, ref)
        current = past.held.get(stage)
        if current and current.version == version:
            raise WeightlineError(f"{version.name} is already in {stage} ({current.tag.name})")
        required = settings.stage_order.get(stage)
        if required and not past.has_been(version, required):
            raise WeightlineError(
                f"{version.name} has never been in {required}: promote it to {required} first "
                f"(stage order: {stage} needs {required}; see stage_order in [tool.weightline])"
            )
        summary: dict = {
            "action": "promote",
            "from_version": str(current.version.version) if current else None,
            "reason": reason,
        }
        report = None
        if stage == "production":
            report = check(settings, Candidate.of(version), current)
            if not report["passed"]:
                return "", report
            summary["gate"] = report
            summary["holdout_md5"] = report["holdout_md5"]
        name = write_event(settings, past, version, stage, True, summary)
        return name, report


def rollback(settings: Settings, stage: str, reason: str = "") -> tuple[str, str]:
    """Give `stage` back to the version that held it before: unassign the current, reassign it.

    "Before" is the newest earlier holder that was never unassigned from the stage, so rolling
    back twice never returns to the version the first rollback removed.
    """
    check_stage(settings, stage)
    with exclusive(settings):
        past = history(settings)
        active = past.active(stage)
        if not active:
            raise WeightlineError(f"no version is in {stage}: nothing to roll back")
        if len(active) < 2:
            raise WeightlineError(
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
        return unassigned, assigned


def archive(settings: Settings, ref: str, reason: str = "") -> list[str]:
    """Move a version to `archived` (unassigning its other stages); never a production version."""
    check_stage(settings, "archived")
    with exclusive(settings):
        past = history(settings)
        version = resolve(settings, ref)
        held = past.held
        if held.get("production") and held["production"].version == version:
            raise WeightlineError(
                f"{version.name} is in production: promote another version or "
                "`weightline rollback production` before archiving it"
            )
        if any(e.version == version for e in past.active("archived")):
            raise WeightlineError(f"{version.name} is already archived")
        written = []
        for stage in sorted({e.stage for e in past.events} - {"archived"}):
            if any(e.version == version for e in past.active(stage)):
                written.append(
                    write_event(
                        settings,
                        past,
                        version,
                        stage,
                        False,
                        {"action": "archive", "reason": reason},
                    )
                )
        written.append(
            write_event(
                settings, past, version, "archived", True, {"action": "archive", "reason": reason}
            )
        )
        return written
