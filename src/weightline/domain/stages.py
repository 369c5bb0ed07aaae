"""Stage history: GTO stage tags read back into events, and who holds each stage now.

`model#production#7` assigns production to the version registered at the tag's commit;
`model#production!#8` unassigns it. N is one counter per artifact across all stages, so it orders
events exactly (tag times have one-second resolution). A stage is held by the version with the
newest assignment among those whose last event for that stage is an assignment: after an
unassignment the stage falls back to the previous holder, as GTO computes it.
"""

import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from weightline.domain.tags import NAME, RegisteredVersion, Tag, read_tags, summary_of
from weightline.errors import WeightlineError
from weightline.store import git

STAGE_TAG = re.compile(rf"^(?P<artifact>{NAME})#(?P<stage>{NAME})(?P<cancel>!?)#(?P<number>\d+)$")
DEFAULT_STAGES = ("staging", "production", "archived")


@dataclass(frozen=True)
class StageEvent:
    tag: Tag
    stage: str
    number: int
    assigned: bool  # False for an unassignment
    version: RegisteredVersion
    summary: dict = field(default_factory=dict)

    @property
    def action(self) -> str:
        return self.summary.get("action", "assign" if self.assigned else "unassign")


def allowed_stages(root: Path) -> tuple[str, ...]:
    """The `stages:` list of .gto (GTO's own config), or GTO's usual three."""
    path = root / ".gto"
    if not path.exists():
        return DEFAULT_STAGES
    try:
        stages = (yaml.safe_load(path.read_text()) or {}).get("stages")
    except yaml.YAMLError as error:
        raise WeightlineError(f".gto is not valid YAML ({error}): fix it") from None
    return tuple(stages) if stages else DEFAULT_STAGES


def parse_stage_tag(name: str, artifact: str) -> tuple[str, int, bool] | None:
    """(stage, N, assigned) for a stage tag of `artifact`, None for anything else."""
    match = STAGE_TAG.match(name)
    if not match or match["artifact"] != artifact:
        return None
    return match["stage"], int(match["number"]), not match["cancel"]


def stage_events(
    root: Path, artifact: str, versions: list[RegisteredVersion], warn: bool = True
) -> list[StageEvent]:
    """All stage events of `artifact`, oldest first; tags on unregistered commits are skipped."""
    by_commit = {v.commit: v for v in versions}
    events = []
    for tag in read_tags(root, f"{artifact}#*"):
        parsed = parse_stage_tag(tag.name, artifact)
        if parsed is None:
            continue
        stage, number, assigned = parsed
        version = by_commit.get(tag.commit)
        if version is None:
            if warn:
                print(f"weightline: skipping {tag.name}: no version at its commit", file=sys.stderr)
            continue
        events.append(StageEvent(tag, stage, number, assigned, version, summary_of(tag.message)))
    return sorted(events, key=lambda e: e.number)


def active(events: Sequence[tuple[str, str, bool]]) -> dict[str, list[int]]:
    """The rule, on (stage, version, assigned) in order: stage -> the positions of the
    assignments through which versions are in it now (their last event for it), newest first.

    The newest holds the stage; the next is where an unassignment or a rollback falls back to.
    The index applies the same function to its own rows.
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


def holders(events: list[StageEvent]) -> dict[str, StageEvent]:
    """The assignment through which each stage is held now (stages held by nobody are absent)."""
    positions = holding([(e.stage, e.version.name, e.assigned) for e in events])
    return {stage: events[position] for stage, position in positions.items()}


def next_number(root: Path, artifact: str) -> int:
    """One more than the highest N on any stage tag of the artifact (lightweight ones too)."""
    names = git.run(root, "for-each-ref", "--format=%(refname:strip=2)", f"refs/tags/{artifact}#*")
    numbers = [parsed[1] for name in names.split() if (parsed := parse_stage_tag(name, artifact))]
    return max(numbers, default=0) + 1


def stages_of(version: RegisteredVersion, held: dict[str, StageEvent]) -> list[str]:
    return sorted(stage for stage, event in held.items() if event.version.name == version.name)
