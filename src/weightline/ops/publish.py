"""Pushing versions and stage events: weights to the DVC remote first, tags to git after.

A tag on the git remote tells deployments "this version exists" (or "this version is in
production"); it must never arrive before the weights it names can be fetched. So: compare our
tags with the remote's by object id, push the DVC data of what is missing, check the remote has
the weights, and only then push the tags, all of them or none (`git push --atomic`).

A name the remote already has with another object is a conflict (another clone registered or
promoted first): nothing is pushed, and every conflict is named.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from weightline.domain.stages import StageEvent
from weightline.domain.tags import RegisteredVersion
from weightline.errors import (
    ConfigurationError,
    Conflict,
    IntegrityError,
    NotFound,
    RemoteUnavailable,
)
from weightline.settings import Settings
from weightline.store import git
from weightline.store.index import open_index


@dataclass
class Pushed:
    """What a push sent: version tags and stage tags (empty when the remote had everything)."""

    versions: list[str] = field(default_factory=list)
    stages: list[str] = field(default_factory=list)

    @property
    def tags(self) -> list[str]:
        return [*self.versions, *self.stages]


def remote_tags(settings: Settings, git_remote: str) -> dict[str, str]:
    """name -> tag object id of the artifact's tags on the git remote."""
    if not git.run(settings.root, "remote", "get-url", git_remote, check=False):
        raise ConfigurationError(
            f"there is no git remote {git_remote!r}: add one (`git remote add {git_remote} URL`) "
            "or name another"
        )
    try:
        out = git.run(
            settings.root,
            "ls-remote",
            "--tags",
            git_remote,
            f"refs/tags/{settings.artifact}@*",
            f"refs/tags/{settings.artifact}#*",
        )
    except git.GitError as error:
        raise RemoteUnavailable(
            f"cannot list the tags of git remote {git_remote!r}: {error}"
        ) from error
    found = {}
    for line in out.splitlines():
        object_id, _, ref = line.partition("\t")
        if ref.startswith("refs/tags/") and not ref.endswith("^{}"):
            found[ref.removeprefix("refs/tags/")] = object_id
    return found


def weights_on_remote(
    settings: Settings, versions: list[RegisteredVersion], dvc_remote: str | None = None
) -> None:
    """Push each version's DVC outputs unless the remote already has its weights; then check."""
    from weightline.dvc.remote import cache_sha256, has_object, push, repository

    with repository(settings.root) as repo:
        for version in versions:
            md5 = version.summary.get("weights_md5")
            if not md5:
                raise IntegrityError(f"{version.name} has no weights hash in its tag message")
            if has_object(repo, md5, dvc_remote):
                continue
            expected, cached = version.summary.get("weights_sha256"), cache_sha256(repo, md5)
            if cached is not None and cached != expected:
                raise IntegrityError(
                    f"the local DVC cache's copy of {version.name}'s weights is corrupt "
                    f"(SHA-256 {cached}, expected {expected}): nothing was pushed. Remove it "
                    f"(`dvc gc` or delete it from .dvc/cache) and fetch a good copy"
                )
            push(repo, revs=[version.commit], remote=dvc_remote)
            if not has_object(repo, md5, dvc_remote):
                raise NotFound(
                    f"the DVC remote still lacks the weights of {version.name} after pushing "
                    "(are they in the local cache? `dvc fetch --rev` them from where they are): "
                    "no tag was pushed"
                )


def push(
    settings: Settings,
    names: list[str] | None = None,
    git_remote: str | None = None,
    dvc_remote: str | None = None,
    stages: bool = True,
) -> Pushed:
    """Push the weights, then the tags, of versions (and stage events) the remote lacks.

    `names` limits it to those version or stage tags; `stages` False leaves stage tags out.
    """
    git_remote = git_remote or settings.git_remote
    theirs = remote_tags(settings, git_remote)
    with open_index(settings) as index:
        ours = dict(index.conn.execute("SELECT name, object_id FROM tag WHERE skipped IS NULL"))
        versions = index.versions()
        events: list[StageEvent] = index.stage_events() if stages else []
    wanted = [v for v in versions if names is None or v.name in names]
    wanted_events = [e for e in events if names is None or e.tag.name in names]
    conflicts = [
        f"{name}: the remote's tag is object {theirs[name][:10]}, ours is {ours[name][:10]}"
        for name in [v.name for v in wanted] + [e.tag.name for e in wanted_events]
        if name in theirs and theirs[name] != ours.get(name)
    ]
    if conflicts:
        raise Conflict(
            f"git remote {git_remote!r} already has these names with other content (another clone "
            "or CI wrote them first); nothing was pushed:\n  "
            + "\n  ".join(conflicts)
            + "\nFetch theirs (`git fetch --tags`), delete our copy of each version tag, and "
            "register the change again: it becomes the next version"
        )
    missing = [v for v in wanted if v.name not in theirs]
    missing_events = [e for e in wanted_events if e.tag.name not in theirs]
    needed = {v.name: v for v in missing}
    for event in missing_events:  # a stage tag names a version: its weights go first too
        needed.setdefault(event.version.name, event.version)
    if not needed and not missing_events:
        return Pushed()
    weights_on_remote(settings, list(needed.values()), dvc_remote)
    version_names = [v.name for v in missing]
    for event in missing_events:  # the version a stage tag names must be on the remote first
        if event.version.name not in theirs and event.version.name not in version_names:
            version_names.append(event.version.name)
    refspecs = [f"refs/tags/{n}:refs/tags/{n}" for n in version_names]
    refspecs += [f"refs/tags/{e.tag.name}:refs/tags/{e.tag.name}" for e in missing_events]
    try:
        git.run(settings.root, "push", "--atomic", "--quiet", git_remote, *refspecs)
    except git.GitError as error:
        if "rejected" in error.stderr or "already exists" in error.stderr:
            raise Conflict(
                f"git remote {git_remote!r} refused the push (another clone pushed the same "
                f"names meanwhile): nothing was pushed. {error.stderr.strip()}"
            ) from error
        raise RemoteUnavailable(f"pushing tags to {git_remote!r} failed: {error}") from error
    return Pushed(version_names, [e.tag.name for e in missing_events])
