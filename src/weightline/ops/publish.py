"""Publishing: the git remote decides what exists for the team.

A version or a stage event exists for the team once its tag is on the git remote. A push compares
our tags with the remote's by object id, sends the weights to the DVC remote and checks they are
there, and only then sends the tags, all of them or none (`git push --atomic`). A name the remote
already has with another object is a conflict: nothing is overwritten or pushed, and every
conflict is named with the way out.

Stage events are ordered by their number N (weightline) and by their tag time (GTO, to the
second). The two orders agree as long as every stage tag on the remote was created after every
earlier one, in N and in time. So a stage tag is only pushed on top of the remote history it was
decided on: every stage tag the remote has is known here, and the new ones come after all of them.
A clone that missed someone else's change must fetch and decide again; the server hook
(ops/server.py) enforces the same order for any client.

`register_and_push` and `change_and_push` (what `--push` runs, in CI too) do that by themselves:
fetch what the remote has, decide, write the tags, push; when someone else got there first, the
tags just written are deleted (never left pretending) and the decision is made again on the new
history, a bounded number of times, or refused with a Conflict that names the other tags.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from weightline import logs
from weightline.domain.stages import parse_stage_tag
from weightline.domain.tags import RegisteredVersion
from weightline.errors import (
    ConfigurationError,
    Conflict,
    IntegrityError,
    NotFound,
    Refused,
    RemoteUnavailable,
    WeightlineError,
)
from weightline.settings import Settings
from weightline.store import git
from weightline.store.index import open_index, remember

if TYPE_CHECKING:
    from weightline.domain.bump import Level
    from weightline.domain.stages import StageEvent
    from weightline.ops.promote import StageChange
    from weightline.ops.register import Registration

log = logs.get(__name__)

ATTEMPTS = 3  # decisions made again after losing a race, before giving up with a Conflict
DVC_REMOTE_VARIABLE = "WEIGHTLINE_DVC_REMOTE"  # tells our own pre-push hook where weights went
CONFLICT_MARK = "weightline: conflict"  # how the server hook says "someone else was first"


@dataclass
class Pushed:
    """What a push sent: version tags and stage tags (empty when the remote had everything)."""

    versions: list[str] = field(default_factory=list)
    stages: list[str] = field(default_factory=list)

    @property
    def tags(self) -> list[str]:
        return [*self.versions, *self.stages]


@dataclass(frozen=True)
class Published:
    """What `register_and_push` did: the registration (None when HEAD or its weights already
    were a version: `existing`), what was pushed, and after how many attempts."""

    registration: Registration | None
    existing: RegisteredVersion | None
    pushed: Pushed
    attempts: int = 1


@dataclass(frozen=True)
class Local:
    """This clone's registry as the index has it, for comparing with a remote."""

    versions: list[RegisteredVersion]  # counted versions, SemVer order
    weights: dict[str, tuple[str | None, str | None]]  # version tag -> (md5, sha256) of manifest
    events: list[StageEvent]  # counted stage events, in order
    ids: dict[str, str]  # every tag of the artifact's namespace (counted or not) -> object id
    epochs: dict[str, int]  # stage tag -> its tag time (Unix seconds)


def read_local(settings: Settings) -> Local:
    with open_index(settings) as index:
        rows = index.conn.execute("SELECT tag, weights_md5, weights_sha256 FROM version")
        weights = {tag: (md5, sha256) for tag, md5, sha256 in rows}
        return Local(
            index.versions(),
            weights,
            index.stage_events(),
            dict(index.conn.execute("SELECT name, object_id FROM tag")),
            dict(index.conn.execute("SELECT tag, created_epoch FROM stage_tag")),
        )


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


def fetch_tags(settings: Settings, git_remote: str) -> dict[str, str]:
    """Bring in the remote's tags of the artifact that this clone lacks, never replacing one it
    has (a name both have with different objects is a conflict for `push` to report). Returns
    the remote's tags (name -> object id)."""
    theirs = remote_tags(settings, git_remote)
    ours = local_ids(settings)
    missing = [name for name in theirs if name not in ours]
    if missing:
        refspecs = "".join(f"refs/tags/{name}:refs/tags/{name}\n" for name in missing)
        try:
            git.run(
                settings.root,
                "fetch",
                "--quiet",
                "--no-tags",
                "--no-write-fetch-head",
                "--stdin",
                git_remote,
                stdin=refspecs,
            )
        except git.GitError as error:
            raise RemoteUnavailable(
                f"cannot fetch tags from git remote {git_remote!r}: {error}"
            ) from error
        remember(settings)
    return theirs


def local_ids(settings: Settings) -> dict[str, str]:
    from weightline.store.gitrefs import list_refs, parse_refs

    return {r.name: r.object_id for r in parse_refs(list_refs(settings.root, settings.artifact))}


def weights_on_remote(
    settings: Settings, local: Local, versions: list[RegisteredVersion], dvc_remote: str | None
) -> None:
    """Push each version's DVC outputs unless the remote already has its weights; then check.

    The weights are the manifest's (the index read them from the version's commit), so a
    version registered by another tool, with no JSON in its tag message, is pushed the same way.
    """
    if not versions:
        return
    from weightline.dvc.remote import cache_sha256, has_object, push, repository

    with repository(settings.root) as repo:
        for version in versions:
            md5, expected = local.weights.get(version.name, (None, None))
            if not md5:
                raise IntegrityError(f"{version.name}'s manifest records no weights hash")
            if has_object(repo, md5, dvc_remote):
                continue
            cached = cache_sha256(repo, md5)
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


def conflicts(
    artifact: str,
    local: Local,
    theirs: dict[str, str],
    wanted: list[str],
    new_events: list[StageEvent],
) -> tuple[list[str], list[str]]:
    """(version problems, stage problems) that forbid pushing: names the remote has with other
    objects, and stage events that would not come after everything the remote has."""
    versions: list[str] = []
    stages: list[str] = []
    for name in wanted:
        if name in theirs and theirs[name] != local.ids.get(name):
            where = stages if "#" in name else versions
            where.append(
                f"{name}: the remote has another tag of this name (object {theirs[name][:10]}, "
                f"ours {local.ids.get(name, '?')[:10]}): someone else wrote it first"
            )
    for event in new_events:
        name = event.version.name
        if name in theirs and theirs[name] != local.ids.get(name):
            stages.append(
                f"{event.tag.name}: it assigns {name}, which the remote has as another version"
            )
    if not new_events:
        return versions, stages
    remote_stages = {n: i for n, i in theirs.items() if parse_stage_tag(n, artifact)}
    unseen = sorted(
        n for n, i in remote_stages.items() if local.ids.get(n) != i and n not in wanted
    )
    if unseen:
        stages.append(
            "the remote has stage events this clone has not seen ("
            + ", ".join(unseen[:5])
            + (" ..." if len(unseen) > 5 else "")
            + "): ours were decided without them"
        )
    numbers = [parsed[1] for n in remote_stages if (parsed := parse_stage_tag(n, artifact))]
    newest = max((local.epochs.get(n, 0) for n in remote_stages if n not in unseen), default=0)
    for event in new_events:
        if event.tag.name in theirs:
            continue
        if numbers and event.number <= max(numbers):
            stages.append(
                f"{event.tag.name}: the remote's stage events go up to #{max(numbers)}, so this "
                "one would not come last"
            )
        elif local.epochs.get(event.tag.name, 0) <= newest:
            stages.append(
                f"{event.tag.name}: its tag time is not after the remote's newest stage event "
                "(GTO orders stage events by time)"
            )
    return versions, stages


def advice(git_remote: str, versions: list[str], stages: list[str], unpushed: list[str]) -> str:
    lines = [
        f"git remote {git_remote!r} decides, and it already has other tags: nothing was pushed."
    ]
    if versions:
        lines += ["  " + problem for problem in versions]
        names = " ".join(problem.partition(":")[0] for problem in versions)
        lines.append(
            f"  Theirs stand. To make yours the next version: delete your tag (`git tag -d "
            f"{names}`), fetch theirs (`git fetch {git_remote} --tags`), check out your commit "
            "and register it again (registering with push does all this by itself): it becomes "
            "the next free version"
        )
    if stages:
        lines += ["  " + problem for problem in stages]
        lines.append(
            "  A stage change is decided on the history it sees: delete your unpushed stage "
            f"tags (`git tag -d {' '.join(unpushed) or 'NAME'}`), fetch "
            f"(`git fetch {git_remote} --tags`) and make the change again, pushing it at once"
        )
    return "\n".join(lines)


def push(
    settings: Settings,
    names: list[str] | None = None,
    git_remote: str | None = None,
    dvc_remote: str | None = None,
    stages: bool = True,
) -> Pushed:
    """Push the weights, then the tags, of versions (and stage events) the remote lacks.

    `names` limits it to those version or stage tags; `stages` False leaves stage tags out.
    A stage event goes with its version when the remote lacks that too.
    """
    git_remote = git_remote or settings.git_remote
    local, new_versions, new_events = plan(settings, names, git_remote, stages)
    if not new_versions and not new_events:
        return Pushed()
    weights_on_remote(settings, local, new_versions, dvc_remote)
    pushed = Pushed([v.name for v in new_versions], [e.tag.name for e in new_events])
    send(settings, git_remote, pushed.tags, dvc_remote)
    return pushed


def plan(
    settings: Settings, names: list[str] | None, git_remote: str, stages: bool = True
) -> tuple[Local, list[RegisteredVersion], list[StageEvent]]:
    """(this clone, the versions and the stage events to push), or a Conflict naming every tag
    that the remote has otherwise or that would not come after the remote's."""
    theirs = remote_tags(settings, git_remote)
    local = read_local(settings)
    wanted = [v for v in local.versions if names is None or v.name in names]
    events = [e for e in local.events if stages and (names is None or e.tag.name in names)]
    new_events = [e for e in events if e.tag.name not in theirs]
    new_versions = [v for v in wanted if v.name not in theirs]
    for event in new_events:  # the version a stage tag names must be on the remote first
        if event.version.name not in theirs and event.version not in new_versions:
            new_versions.append(event.version)
    version_problems, stage_problems = conflicts(
        settings.artifact,
        local,
        theirs,
        [v.name for v in wanted] + [e.tag.name for e in events],
        new_events,
    )
    if version_problems or stage_problems:
        unpushed = [e.tag.name for e in local.events if theirs.get(e.tag.name) != e.tag.object_id]
        raise Conflict(advice(git_remote, version_problems, stage_problems, unpushed))
    return local, sorted(new_versions, key=lambda v: v.version), new_events


def send(settings: Settings, git_remote: str, names: list[str], dvc_remote: str | None) -> None:
    """`git push --atomic` of these tags; a refusal by the remote is a Conflict or Refused."""
    refspecs = [f"refs/tags/{n}:refs/tags/{n}" for n in names]
    env = {k: v for k, v in os.environ.items() if k != DVC_REMOTE_VARIABLE}
    if dvc_remote:
        env[DVC_REMOTE_VARIABLE] = dvc_remote
    try:
        git.run(settings.root, "push", "--atomic", "--quiet", git_remote, *refspecs, env=env)
    except git.GitError as error:
        said = error.stderr.strip()
        if CONFLICT_MARK in said or "already exists" in said or "[rejected]" in said:
            raise Conflict(
                f"git remote {git_remote!r} refused the tags (another clone pushed the same or "
                f"later ones meanwhile): nothing was pushed.\n{said}"
            ) from error
        if "hook declined" in said or "weightline:" in said:
            raise Refused(
                f"the push of {', '.join(names)} was refused: nothing was pushed.\n{said}"
            ) from error
        raise RemoteUnavailable(f"pushing tags to {git_remote!r} failed: {error}") from error


def not_pushed(error: WeightlineError, names: list[str]) -> WeightlineError:
    """The same kind of error, saying that the tags were made here but did not reach the remote
    (they stay: a later push sends them)."""
    said = f"{', '.join(names)} made here but not pushed (a later push sends them): {error}"
    again = type(error)(said) if not isinstance(error, git.GitError) else WeightlineError(said)
    return again


def forget_tags(settings: Settings, names: list[str]) -> None:
    """Delete tags this command wrote and could not publish: they must not pretend to exist."""
    for name in names:
        git.run(settings.root, "tag", "--delete", name, check=False)
    remember(settings)


def register_and_push(
    settings: Settings,
    bump: Level | None = None,
    version: str | None = None,
    if_new: bool = False,
    git_remote: str | None = None,
    dvc_remote: str | None = None,
    attempts: int = ATTEMPTS,
) -> Published:
    """Register HEAD on top of what the git remote has, and push it (weights, then the tag).

    The remote's tags are fetched first, so the next version is derived from theirs too. If
    another clone pushes the same name in between, the tag written here is deleted and HEAD is
    registered again as the next free version (`attempts` times in all), or a Conflict names
    theirs. A version of HEAD that only this clone has and that the remote has under its name
    with another object never reached the remote: it is deleted and registered anew.
    """
    from weightline.ops.register import register

    git_remote = git_remote or settings.git_remote
    failure: Conflict | None = None
    for attempt in range(1, attempts + 1):
        theirs = remote_tags(settings, git_remote)
        drop_pretender_at_head(settings, theirs)
        fetch_tags(settings, git_remote)
        existing = head_version(settings)
        written = existing is None
        if existing is not None and existing.name in theirs:
            if not if_new:
                raise Refused(
                    f"HEAD is already {existing.name}, on git remote {git_remote!r} too: one "
                    "version per commit"
                )
            return Published(None, existing, Pushed(), attempt)
        done = register(settings, bump, version, if_new) if written else None
        target = done.version if done else existing or weights_version(settings)
        if target is None:  # cannot happen: register without if_new raises or registers
            raise NotFound("HEAD is not a version and was not registered")
        try:
            pushed = push(settings, [target.name], git_remote, dvc_remote, stages=False)
        except Conflict as error:
            failure = error
            if done is not None:
                forget_tags(settings, [done.version.name])
            log.info("attempt %d lost a race for %s: %s", attempt, target.name, error)
            continue
        except WeightlineError as error:
            raise not_pushed(error, [target.name]) from error
        if done is None:
            return Published(None, target, pushed, attempt)
        return Published(done, None, pushed, attempt)
    raise Conflict(
        f"gave up after {attempts} attempts: each time someone else pushed first. Last: {failure}"
    )


def head_version(settings: Settings) -> RegisteredVersion | None:
    with open_index(settings) as index:
        return index.version_at(git.head(settings.root))


def weights_version(settings: Settings) -> RegisteredVersion | None:
    """The version that already holds HEAD's weights (registration with if_new found one)."""
    from weightline.store.manifests import read_manifest

    manifest = read_manifest(settings, git.head(settings.root))
    with open_index(settings) as index:
        return index.with_weights(manifest["weights"]["sha256"])


def drop_pretender_at_head(settings: Settings, theirs: dict[str, str]) -> None:
    """A version tag on HEAD that the remote has under the same name with another object never
    reached the remote (theirs did): delete ours, so HEAD is registered again after theirs."""
    found = head_version(settings)
    if found is None or found.name not in theirs or theirs[found.name] == found.tag.object_id:
        return
    log.warning(
        "%s here was never pushed and the git remote has another %s: deleting ours and "
        "registering HEAD again",
        found.name,
        found.name,
    )
    forget_tags(settings, [found.name])


def change_and_push(
    settings: Settings,
    change: Callable[[], StageChange],
    git_remote: str | None = None,
    dvc_remote: str | None = None,
    attempts: int = ATTEMPTS,
) -> tuple[StageChange, Pushed]:
    """Make a stage change on top of the git remote's history and push it with every unpushed
    version and stage tag; when someone else pushed a stage change first, the tags written here
    are deleted and the change is decided again (a promotion is gated again) on the new history.
    """
    git_remote = git_remote or settings.git_remote
    failure: Conflict | None = None
    for attempt in range(1, attempts + 1):
        fetch_tags(settings, git_remote)
        plan(settings, None, git_remote)  # unpushed tags that already conflict: say so first
        made = change()
        if not made.tags:  # a gate that did not pass: nothing written, nothing to push
            return made, Pushed()
        try:
            return made, push(settings, None, git_remote, dvc_remote)
        except Conflict as error:
            failure = error
            forget_tags(settings, made.tags)
            log.info("attempt %d lost a race for %s: %s", attempt, made.tags, error)
        except WeightlineError as error:
            raise not_pushed(error, made.tags) from error
    raise Conflict(
        f"gave up after {attempts} attempts: each time someone else pushed a stage change "
        f"first. Last: {failure}"
    )
