"""Registered versions: finding them by reference, and registering the current commit.

Registration tags the commit `<artifact>@vX.Y.Z` once every check has passed; a check that fails
changes nothing. Concurrent registrations take turns on a lock in the git directory, so racing
processes never compute the same number.
"""

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from weightline.domain import bump as bumps
from weightline.domain import manifest
from weightline.domain.semver import Version, is_version
from weightline.domain.tags import (
    RegisteredVersion,
    registered_versions,
    registration_message,
    version_tag,
)
from weightline.dvc import lock as dvclock
from weightline.errors import WeightlineError
from weightline.settings import Settings
from weightline.store import git
from weightline.store.digest import sha256_bytes, sha256_file
from weightline.store.index import remember


def resolve(settings: Settings, ref: str) -> RegisteredVersion:
    """The version a reference names, exactly; anything vague is refused with what exists.

    A reference is `v1.2.0`, `model@v1.2.0`, a stage (`production`: the version holding it) or a
    stage tag (`model#production#7`: the version that tag assigned). "latest" is never one. The
    index (brought up to date with git first) answers, so every command resolves alike.
    """
    from weightline.store.index import open_index

    with open_index(settings) as index:
        return index.resolve(ref)


def manifest_text(settings: Settings, commit: str) -> str:
    text = git.show(settings.root, commit, settings.manifest)
    if text is None:
        raise WeightlineError(
            f"commit {commit[:10]} has no {settings.manifest}: run `dvc repro`, commit, register"
        )
    return text


def read_manifest(settings: Settings, commit: str) -> dict:
    return manifest.parse(manifest_text(settings, commit), f"{settings.manifest} at {commit[:10]}")


@contextmanager
def exclusive(settings: Settings) -> Iterator[None]:
    """One registration or stage change at a time per repository (all worktrees included)."""
    path = git.common_dir(settings.root) / "weightline.flock"
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@dataclass(frozen=True)
class Registration:
    version: RegisteredVersion
    bump: bumps.Bump


def check_clean(settings: Settings) -> None:
    dirty = git.dirty_paths(settings.root)
    if dirty:
        shown = ", ".join(dirty[:5]) + (" ..." if len(dirty) > 5 else "")
        raise WeightlineError(
            f"the working tree has uncommitted changes ({shown}): commit or stash them, "
            "so that the version is exactly what the commit holds"
        )


def check_dvc_status(settings: Settings) -> None:
    from weightline.dvc.remote import status

    changed = status(settings.root)
    if changed:
        raise WeightlineError(
            f"DVC outputs do not match dvc.lock ({', '.join(sorted(changed))}): run `dvc repro` "
            "(or `dvc checkout` to restore them), commit, then register"
        )


def choose_version(
    settings: Settings,
    greatest: Version | None,
    derived: bumps.Bump,
    bump: str | None,
    version: str | None,
) -> Version:
    """The derived next version, or an explicit one that only goes upward."""
    if greatest is None:
        if bump:
            raise WeightlineError("there is no version to bump from yet: use --version vX.Y.Z")
        return Version.parse(version or settings.first_version)
    if bump and bumps.LEVELS[bump] < bumps.LEVELS[derived.level]:
        raise WeightlineError(
            f"this change needs at least a {derived.level} bump ({derived.reason}): "
            f"--bump {bump} would understate it"
        )
    smallest = greatest.bump(bump or derived.level)
    if version is None:
        return smallest
    wanted = Version.parse(version)
    if not wanted >= greatest.bump(derived.level) or not wanted > greatest:
        raise WeightlineError(
            f"--version {wanted} is not above {greatest} by at least a {derived.level} bump "
            f"({derived.reason}): use {greatest.bump(derived.level)} or higher"
        )
    return wanted


def register(
    settings: Settings, bump: str | None = None, version: str | None = None, if_new: bool = False
) -> Registration | None:
    """Tag HEAD as the next version, or refuse (changing nothing) and say why.

    With `if_new` (for CI), HEAD already being a version, or holding weights that already are
    one, is not an error: nothing happens and None is returned.
    """
    if version is not None and not is_version(version):
        raise WeightlineError(f"--version {version!r} is not a version like v1.2.3")
    root = settings.root
    with exclusive(settings):
        check_clean(settings)
        commit = git.head(root)
        versions = registered_versions(root, settings.artifact)
        if on_commit := [v for v in versions if v.commit == commit]:
            if if_new:
                return None
            raise WeightlineError(
                f"commit {commit[:10]} is already {on_commit[0].name}: one version per commit"
            )
        text = manifest_text(settings, commit)
        current = manifest.parse(text, f"{settings.manifest} at {commit[:10]}")
        check_dvc_status(settings)
        entry = dvclock.output(dvclock.read(root), settings.weights)
        if current["weights"]["md5"] != entry.md5:
            raise WeightlineError(
                f"{settings.manifest} describes other weights than dvc.lock: run `dvc repro` "
                "and commit"
            )
        sha256 = sha256_file(settings.path(settings.weights))
        if sha256 != current["weights"]["sha256"]:
            raise WeightlineError(
                f"{settings.weights} has SHA-256 {sha256} but {settings.manifest} says "
                f"{current['weights']['sha256']}: run `dvc checkout` or `dvc repro`, then commit"
            )
        if same := [v for v in versions if v.summary.get("weights_sha256") == sha256]:
            if if_new:
                return None
            raise WeightlineError(
                f"these weights are already registered as {same[0].name} (same SHA-256): "
                "nothing new to version"
            )
        greatest = versions[-1] if versions else None
        previous = read_manifest(settings, greatest.commit) if greatest else None
        derived = bumps.derive(previous, current)
        new = choose_version(settings, greatest and greatest.version, derived, bump, version)
        name = version_tag(settings.artifact, new)
        if git.run(root, "rev-parse", "--verify", "--quiet", f"refs/tags/{name}", check=False):
            raise WeightlineError(f"tag {name} already exists: versions are never overwritten")
        if greatest is None:
            level = "initial"
        elif version is not None:
            level = explicit_level(greatest.version, new)
        else:
            level = bump or derived.level
        summary = {
            "commit": commit,
            "weights_sha256": sha256,
            "weights_md5": entry.md5,
            "manifest_sha256": sha256_bytes(text.encode()),
            "data": {item["path"]: item["md5"] for item in current["data"]["inputs"]},
            "holdout_md5": current["data"]["holdout"]["md5"],
            "metrics": key_metrics(settings, current["metrics"]),
            "bump": level,
            "reason": derived.reason,
        }
        git.create_tag(root, name, commit, registration_message(settings.artifact, new, summary))
        remember(settings)
    registered = next(v for v in registered_versions(root, settings.artifact) if v.name == name)
    return Registration(registered, bumps.Bump(level, derived.reason))


def explicit_level(old: Version, new: Version) -> str:
    """The bump an explicit --version amounts to."""
    if new.major != old.major:
        return "major"
    return "minor" if new.minor != old.minor else "patch"


def key_metrics(settings: Settings, metrics: dict) -> dict:
    names = settings.key_metrics or tuple(metrics)
    return {name: metrics[name] for name in names if name in metrics}
