"""Stage history: the rule that says which version holds each stage, from GTO stage tags.

`model#production#7` assigns production to the version registered at the tag's commit;
`model#production!#8` unassigns it. N is one counter per artifact across all stages, so it orders
events exactly (tag times have one-second resolution). A stage is held by the version with the
newest assignment among those whose last event for that stage is an assignment: after an
unassignment the stage falls back to the previous holder, as GTO computes it.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from weightline.domain.tags import NAME, RegisteredVersion, Tag

STAGE_TAG = re.compile(rf"^(?P<artifact>{NAME})#(?P<stage>{NAME})(?P<cancel>!?)#(?P<number>\d+)$")
DEFAULT_STAGES = ("staging", "production", "archived")


@dataclass(frozen=True)
class StageEvent:
    tag: Tag
    stage: str
    number: int
    assigned: bool  # False for an unassignment
    version: RegisteredVersion
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def action(self) -> str:
        return str(self.summary.get("action", "assign" if self.assigned else "unassign"))


def parse_stage_tag(name: str, artifact: str) -> tuple[str, int, bool] | None:
    """(stage, N, assigned) for a stage tag of `artifact`, None for anything else."""
    match = STAGE_TAG.match(name)
    if not match or match["artifact"] != artifact:
        return None
    return match["stage"], int(match["number"]), not match["cancel"]


def stage_tag(artifact: str, stage: str, number: int, assigned: bool) -> str:
    return f"{artifact}#{stage}{'' if assigned else '!'}#{number}"


def active(events: Sequence[tuple[str, str, bool]]) -> dict[str, list[int]]:
    """The rule, on (stage, version, assigned) in order: stage -> the positions of the
    assignments through which versions are in it now (their last event for it), newest first.

    The newest holds the stage; the next is where an unassignment or a rollback falls back to.
    """
    last: dict[tuple[str, str], int] = {}
    for position, (stage, version, _) in enumerate(events):
        last[(stage, version)] = position
    found: dict[str, list[int]] = {}
    for position in sorted(last.values(), reverse=True):
        stage, _, assigned = events[position]
        if assigned:
            found.setdefault(stage, []).append(position)
    return found


def holding(events: Sequence[tuple[str, str, bool]]) -> dict[str, int]:
    """stage -> the position of the assignment that holds it now (see `active`)."""
    return {stage: positions[0] for stage, positions in active(events).items()}


def holders(events: Sequence[StageEvent]) -> dict[str, StageEvent]:
    """The assignment through which each stage is held now (stages held by nobody are absent)."""
    positions = holding([(e.stage, e.version.name, e.assigned) for e in events])
    return {stage: events[position] for stage, position in positions.items()}


@dataclass(frozen=True)
class History:
    """Every stage event of an artifact, oldest first, and what follows from them."""

    events: list[StageEvent]

    @property
    def held(self) -> dict[str, StageEvent]:
        return holders(self.events)

    def active(self, stage: str) -> list[StageEvent]:
        """Versions whose last event for `stage` is an assignment, newest assignment first."""
        rows = [(e.stage, e.version.name, e.assigned) for e in self.events]
        return [self.events[position] for position in active(rows).get(stage, [])]

    def has_been(self, version: RegisteredVersion, stage: str) -> bool:
        return any(
            e.assigned and e.stage == stage and e.version.name == version.name for e in self.events
        )

    def stages_of(self, version: RegisteredVersion) -> list[str]:
        return sorted(s for s, event in self.held.items() if event.version.name == version.name)
