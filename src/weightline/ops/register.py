"""Registering the current commit as the next version, or saying which version it would be.

Registration tags the commit `<artifact>@vX.Y.Z` once every check has passed; a check that fails
changes nothing. The registry's state comes from the index, under the repository's writer lock:
take the lock, refresh the index, decide, write the tag, refresh again.

It runs in the post-commit hook of every training commit, so its cost must not grow with the
registry: one view of the index for the whole registration (single-version lookups only, and
an update that settles just the new tag), the weights' SHA-256 from the manifest stage (never a
second read of the weights), and the signature rules (numpy, pandas) only when the signature
changed. What remains is DVC's own status check (benchmarks/commit_scale.py).
"""

from dataclasses import dataclass
from typing import Any

from weightline._version import __version__
from weightline.domain import bump as bumps
from weightline.domain.manifest import Manifest
from weightline.domain.tags import RegisteredVersion, registration_message, version_tag
from weightline.dvc import lock as dvclock
from weightline.errors import Conflict, IntegrityError, Refused
from weightline.ops.lookup import check_clean
from weightline.settings import Settings
from weightline.store import git
from weightline.store.digest import Hashes, sha256_bytes
from weightline.store.index import Index, open_index
from weightline.store.locks import exclusive
from weightline.store.manifests import manifest_text, read_manifest


@dataclass(frozen=True)
class Registration:
    version: RegisteredVersion
    bump: bumps.Bump


@dataclass(frozen=True)
class Plan:
    """What registering a commit would do: the tag it would write, or the version it already is."""

    name: str  # model@v1.2.0
    bump: bumps.Bump
    existing: RegisteredVersion | None = None  # the commit or its weights are already this one


def check_dvc_status(settings: Settings) -> None:
    from weightline.dvc.remote import status

    changed = status(settings.root)
    if changed:
        raise Refused(
            f"DVC outputs do not match dvc.lock ({', '.join(sorted(changed))}): run `dvc repro` "
            "(or `dvc checkout` to restore them), commit, then register"
        )


def checked_weights(settings: Settings, current: Manifest) -> tuple[str, str]:
    """(SHA-256, DVC md5) of the workspace weights, after checking they are what the commit's
    manifest and dvc.lock say.

    The SHA-256 is the one the manifest stage computed, trusted while the weights file is the
    very file it hashed, unchanged (digest.Hashes); any other file is read and hashed.
    """
    entry = dvclock.output(dvclock.read(settings.root), settings.weights)
    if current["weights"]["md5"] != entry.md5:
        raise IntegrityError(
            f"{settings.manifest} describes other weights than dvc.lock: run `dvc repro` and commit"
        )
    sha256 = current["weights"]["sha256"]
    actual = Hashes(settings.root).sha256(settings.path(settings.weights), entry.md5, entry.size)
    if actual != sha256:
        raise IntegrityError(
            f"{settings.weights} has SHA-256 {actual} but {settings.manifest} says {sha256}: "
            "run `dvc checkout` or `dvc repro`, then commit"
        )
    return sha256, entry.md5


def plan(
    settings: Settings,
    index: Index,
    commit: str,
    current: Manifest,
    bump: bumps.Level | None = None,
    version: str | None = None,
) -> Plan:
    """The version `commit` would get, from the registry as the index has it."""
    if on_commit := index.version_at(commit):
        return Plan(on_commit.name, bumps.Bump("initial", ""), on_commit)
    if same := index.with_weights(current["weights"]["sha256"]):
        return Plan(same.name, bumps.Bump("initial", ""), same)
    greatest = index.greatest()
    previous = read_manifest(settings, greatest.commit) if greatest else None
    derived = bumps.derive(previous, current)
    new, level = bumps.choose(
        greatest.version if greatest else None, derived, settings.first_version, bump, version
    )
    return Plan(version_tag(settings.artifact, new), bumps.Bump(level, derived.reason))


def preview(settings: Settings, commit: str) -> Plan:
    """What registering `commit` would do, without checks on the working tree or any writing:
    what the post-commit hook tells a commit on a branch other than the release branch."""
    text = manifest_text(settings, commit)
    from weightline.domain.manifest import parse

    current = parse(text, f"{settings.manifest} at {commit[:10]}")
    with open_index(settings) as index:
        return plan(settings, index, commit, current)


def register(
    settings: Settings,
    bump: bumps.Level | None = None,
    version: str | None = None,
    if_new: bool = False,
) -> Registration | None:
    """Tag HEAD as the next version, or refuse (changing nothing) and say why.

    With `if_new` (for CI), HEAD already being a version, or holding weights that already are
    one, is not an error: nothing happens and None is returned.
    """
    from weightline.domain.manifest import parse

    root = settings.root
    with exclusive(root), open_index(settings) as index:
        check_clean(settings)
        commit = git.head(root)
        text = manifest_text(settings, commit)
        current = parse(text, f"{settings.manifest} at {commit[:10]}")
        on_commit = index.version_at(commit)
        if on_commit is not None:
            if if_new:
                return None
            raise Refused(
                f"commit {commit[:10]} is already {on_commit.name}: one version per commit"
            )
        check_dvc_status(settings)
        sha256, md5 = checked_weights(settings, current)
        planned = plan(settings, index, commit, current, bump, version)
        blocked = None if planned.existing else index.has_tag(planned.name)
        if planned.existing is not None:
            if if_new:
                return None
            raise Refused(
                f"these weights are already registered as {planned.existing.name} (same "
                "SHA-256): nothing new to version"
            )
        if blocked is not None:
            raise Conflict(
                f"a tag {planned.name} already exists but is not a version "
                f"({blocked or 'it is one'}): versions are never overwritten; remove that tag "
                "if it is a mistake, or register an explicit higher version"
            )
        summary = registration_summary(settings, commit, current, text, planned.bump)
        summary["weights_sha256"], summary["weights_md5"] = sha256, md5
        new = planned.name.split("@", 1)[1]
        from weightline.domain.semver import Version

        message = registration_message(settings.artifact, Version.parse(new), summary)
        git.create_tag(root, planned.name, commit, message)
        index.refresh()  # reads the new tag (and whatever else changed), settles only that
        return Registration(index.version(planned.name), planned.bump)


def registration_summary(
    settings: Settings, commit: str, current: Manifest, text: str, bump: bumps.Bump
) -> dict[str, Any]:
    """What the tag message records: enough to check the manifest and list the version fast."""
    holdout = current["data"]["holdout"]
    return {
        "commit": commit,
        "manifest_sha256": sha256_bytes(text.encode()),
        "data": {item["path"]: item["md5"] for item in current["data"]["inputs"]},
        "holdout_md5": holdout["md5"] if holdout else None,
        "metrics": key_metrics(settings, current["metrics"]),
        "bump": bump.level,
        "reason": bump.reason,
        "weightline": __version__,
    }


def key_metrics(settings: Settings, metrics: dict[str, Any]) -> dict[str, Any]:
    names = settings.key_metrics or tuple(metrics)
    return {name: metrics[name] for name in names if name in metrics}
