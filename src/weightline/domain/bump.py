"""The bump a new version gets, derived from its manifest against the greatest registered one.

MAJOR when the signature changed in a way that breaks callers; MINOR when the training data, the
hold-out set or the configuration changed; PATCH otherwise (same data and configuration, other
weights: code or environment). The reason names what changed.
"""

from dataclasses import dataclass
from typing import Literal, get_args

from weightline.domain.manifest import Manifest, data_items
from weightline.domain.semver import Version, is_version
from weightline.errors import Refused

Level = Literal["patch", "minor", "major"]
LEVELS: dict[str, int] = {level: rank for rank, level in enumerate(get_args(Level))}
# What a registration records: a level, "initial" for the first version, or "explicit" choices.
Recorded = Literal["initial", "patch", "minor", "major"]
MAX_DEPTH = 64  # config nesting walked; deeper values are kept whole under their dotted key


@dataclass(frozen=True)
class Bump:
    level: Recorded
    reason: str


def flatten(value: object, prefix: str = "") -> dict[str, object]:
    """{"model": {"C": 1.0}} -> {"model.C": 1.0}: config keys as dotted paths.

    Iterative and depth-capped: a manifest is input from anyone who can push a commit.
    """
    flat: dict[str, object] = {}
    pending: list[tuple[str, object, int]] = [(prefix, value, 0)]
    while pending:
        path, item, depth = pending.pop()
        if isinstance(item, dict) and depth < MAX_DEPTH:
            pending.extend((f"{path}{key}.", child, depth + 1) for key, child in item.items())
        else:
            flat[path.rstrip(".")] = item
    return dict(sorted(flat.items()))


def config_changes(old: dict[str, object], new: dict[str, object]) -> list[str]:
    before, after = flatten(old), flatten(new)
    return [
        f"{key} ({before.get(key, '<unset>')} -> {after.get(key, '<unset>')})"
        for key in sorted(before.keys() | after.keys())
        if before.get(key, "<unset>") != after.get(key, "<unset>")
    ]


def data_md5s(manifest: Manifest) -> dict[str, str]:
    """path -> DVC hash of every data input and the hold-out set."""
    return {item["path"]: item["md5"] for item in data_items(manifest)}


def data_changes(old: Manifest, new: Manifest) -> list[str]:
    before, after = data_md5s(old), data_md5s(new)
    return [
        path for path in sorted(before.keys() | after.keys()) if before.get(path) != after.get(path)
    ]


def derive(previous: Manifest | None, current: Manifest) -> Bump:
    if previous is None:
        return Bump("initial", "first registered version")
    if previous["signature"] != current["signature"]:
        # Only a changed signature needs its rules, and they import numpy and pandas: a second
        # of the post-commit hook on most registrations (benchmarks/commit_scale.py).
        from weightline.domain.signature import Signature, breaking_changes

        broken = breaking_changes(
            Signature.from_dict(previous["signature"]), Signature.from_dict(current["signature"])
        )
        if broken:
            return Bump("major", "signature changed incompatibly: " + "; ".join(broken))
    reasons = []
    if data := data_changes(previous, current):
        reasons.append("data changed: " + ", ".join(data))
    if config := config_changes(previous["config"], current["config"]):
        reasons.append("config changed: " + ", ".join(config))
    if reasons:
        return Bump("minor", "; ".join(reasons))
    return Bump("patch", "same data and config, different weights (code or environment changed)")


def choose(
    greatest: Version | None,
    derived: Bump,
    first: str,
    bump: Level | None = None,
    version: str | None = None,
) -> tuple[Version, Recorded]:
    """The next version and the bump it records: the derived one, or an explicit bump or version
    that only ever goes upward (never below what the change needs)."""
    if version is not None and not is_version(version):
        raise Refused(f"{version!r} is not a version like v1.2.3")
    if greatest is None:
        if bump:
            raise Refused("there is no version to bump from yet: give an explicit version")
        return Version.parse(version or first), "initial"
    needed = "patch" if derived.level == "initial" else derived.level
    if bump and LEVELS[bump] < LEVELS[needed]:
        raise Refused(
            f"this change needs at least a {needed} bump ({derived.reason}): "
            f"a {bump} bump would understate it"
        )
    if version is None:
        level: Level = bump or needed
        return greatest.bump(level), level
    wanted = Version.parse(version)
    if not wanted >= greatest.bump(needed) or not wanted > greatest:
        raise Refused(
            f"{wanted} is not above {greatest} by at least a {needed} bump "
            f"({derived.reason}): use {greatest.bump(needed)} or higher"
        )
    return wanted, explicit_level(greatest, wanted)


def explicit_level(old: Version, new: Version) -> Level:
    """The bump an explicit version amounts to."""
    if new.major != old.major:
        return "major"
    return "minor" if new.minor != old.minor else "patch"
