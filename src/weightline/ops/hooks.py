"""What the git hooks in .githooks/ run: registration after a commit, guards before a push.

One writer of versions: a commit registers only on the release branch (`release_branch`,
default main), and only where the project says the hook is the registrar (`register = "hook"`,
the default; with "ci" the release workflow registers and the hook only says what it will be).
Elsewhere the hook says which version a merge would get and writes nothing, so experiments on
branches never use up version numbers.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from weightline import logs
from weightline.errors import Refused, WeightlineError
from weightline.settings import Settings
from weightline.store import git

log = logs.get(__name__)


@dataclass(frozen=True)
class HookOutcome:
    """What the post-commit hook did: registered, previewed, or nothing (and why)."""

    action: str  # "registered", "preview", "skipped" or "refused"
    message: str


def post_commit(settings: Settings) -> HookOutcome:
    """Register HEAD if it changed the manifest; a refusal is reported, the commit stands."""
    from weightline.ops.register import preview, register

    if settings.manifest not in git.changed_files(settings.root, "HEAD"):
        return HookOutcome("skipped", "the commit did not change the manifest")
    branch = git.branch(settings.root)
    try:
        if branch != settings.release_branch or settings.register == "ci":
            planned = preview(settings, git.head(settings.root))
            if planned.existing is not None:
                return HookOutcome("preview", f"these weights are already {planned.existing.name}")
            where = (
                f"on {branch or 'a detached HEAD'}, not the release branch "
                f"{settings.release_branch}"
                if branch != settings.release_branch
                else 'the release workflow registers versions (register = "ci")'
            )
            return HookOutcome(
                "preview",
                f"not registered ({where}); merged into {settings.release_branch} it would be "
                f"{planned.name} ({planned.bump.level}: {planned.bump.reason})",
            )
        done = register(settings)
    except WeightlineError as error:
        return HookOutcome("refused", f"not registered: {error}")
    assert done is not None  # register() without if_new returns a registration or raises
    return HookOutcome(
        "registered", f"registered {done.version.name} ({done.bump.level}: {done.bump.reason})"
    )


def pre_push(
    settings: Settings,
    lines: Iterable[str],
    remote: str | None = None,
    url: str | None = None,
    dvc_remote: str | None = None,
) -> None:
    """Check every tag of the artifact's namespace that a `git push` would send, and refuse:

    - deleting or moving any of them (versions and stage events are immutable);
    - a tag weightline does not count (lightweight, not SemVer, a commit without a manifest ...):
      GTO or DVC might read it, weightline never would, so it must not reach the team;
    - a version whose weights the DVC remote lacks (`dvc_remote`, default DVC's default remote),
      whether or not its tag message carries weightline's JSON;
    - a stage event whose version is not on the remote (nor in this push), or that would not
      come after every stage event the remote has (`remote`/`url`: where git pushes).
    """
    from weightline.store.index import open_index

    namespace = (f"refs/tags/{settings.artifact}@", f"refs/tags/{settings.artifact}#")
    problems: list[str] = []
    new: dict[str, str] = {}  # name -> object id
    for line in lines:
        parts = line.split()
        if len(parts) != 4 or not parts[2].startswith(namespace):
            continue
        _, local_id, remote_ref, remote_id = parts
        name = remote_ref.removeprefix("refs/tags/")
        kind = "stage event" if "#" in name else "version"
        if local_id == git.ZERO:
            problems.append(f"{name}: deleting a {kind} tag is refused (they are immutable)")
        elif remote_id != git.ZERO and remote_id != local_id:
            problems.append(f"{name}: the remote has another {name}; moving a {kind} is refused")
        elif remote_id == git.ZERO:
            new[name] = local_id
    if not new:
        if problems:
            raise Refused("push refused:\n  " + "\n  ".join(problems))
        return
    with open_index(settings) as index:
        rows = {
            name: (object_id, kind, skipped)
            for name, object_id, kind, skipped in index.conn.execute(
                "SELECT name, object_id, kind, skipped FROM tag"
            )
        }
        weights = dict(index.conn.execute("SELECT tag, weights_md5 FROM version"))
        versions_of = dict(index.conn.execute("SELECT tag, version_tag FROM stage_tag"))
        numbers = dict(index.conn.execute("SELECT tag, number FROM stage_tag"))
    counted: dict[str, str] = {}
    for name, object_id in new.items():
        known = rows.get(name)
        if known is None or known[0] != object_id:
            problems.append(f"{name}: not the tag this clone has under that name: fetch and retry")
        elif known[2] is not None:
            problems.append(
                f"{name}: weightline does not count this tag ({known[2]}); GTO or DVC might, so "
                f"it must not reach the team: delete it (`git tag -d {name}`)"
            )
        else:
            counted[name] = known[1]
    stage_tags = [n for n, kind in counted.items() if kind == "stage"]
    if stage_tags and (url or remote):  # (git always names the remote; a bare call may not)
        problems += stage_problems(
            settings, str(url or remote), stage_tags, versions_of, numbers, set(counted)
        )
    problems += missing_weights(
        settings, [n for n, kind in counted.items() if kind == "version"], weights, dvc_remote
    )
    if problems:
        raise Refused("push refused:\n  " + "\n  ".join(problems))


def stage_problems(
    settings: Settings,
    remote: str,
    names: list[str],
    versions_of: dict[str, str],
    numbers: dict[str, int],
    pushed: set[str],
) -> list[str]:
    """Stage events must name a version the remote has (or gets now) and come after its own."""
    from weightline.domain.stages import parse_stage_tag

    try:
        theirs = ls_url(settings, remote)
    except WeightlineError as error:
        return [f"cannot read the remote's tags to check stage events: {error}"]
    highest = max(
        (parsed[1] for n in theirs if (parsed := parse_stage_tag(n, settings.artifact))),
        default=0,
    )
    problems = []
    for name in names:
        version = versions_of.get(name)
        if version and version not in theirs and version not in pushed:
            problems.append(
                f"{name}: it assigns {version}, which the remote does not have: push the version "
                "first (`weightline push` sends both, weights first)"
            )
        if numbers.get(name, 0) <= highest:
            problems.append(
                f"{name}: the remote's stage events go up to #{highest}: this one would not come "
                "last (someone else changed a stage meanwhile): fetch, delete it and make the "
                "change again"
            )
    return problems


def ls_url(settings: Settings, url: str) -> dict[str, str]:
    """The artifact's tags at a git remote, by name or URL (git gives the hook both)."""
    out = git.run(
        settings.root,
        "ls-remote",
        "--tags",
        url,
        f"refs/tags/{settings.artifact}@*",
        f"refs/tags/{settings.artifact}#*",
    )
    found = {}
    for line in out.splitlines():
        object_id, _, ref = line.partition("\t")
        if not ref.endswith("^{}"):
            found[ref.removeprefix("refs/tags/")] = object_id
    return found


def missing_weights(
    settings: Settings, names: list[str], weights: dict[str, str], dvc_remote: str | None
) -> list[str]:
    if not names:
        return []
    from weightline.dvc.remote import has_object, repository

    problems = []
    with repository(settings.root) as repo:
        for name in names:
            md5 = weights.get(name)
            try:
                present = bool(md5) and has_object(repo, str(md5), dvc_remote)
            except WeightlineError as error:
                problems.append(f"{name}: cannot check the DVC remote for its weights: {error}")
                continue
            if not present:
                where = f"DVC remote {dvc_remote!r}" if dvc_remote else "the default DVC remote"
                problems.append(
                    f"{name}: {where} does not have its weights yet: use `weightline push`, "
                    "which sends the weights before the tag"
                )
    return problems
