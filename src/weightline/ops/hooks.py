"""What the git hooks in .githooks/ run: registration after a commit, guards before a push.

One writer of versions: a commit registers only on the release branch (`release_branch`,
default main), and only where the project says the hook is the registrar (`register = "hook"`,
the default; with "ci" the release workflow registers and the hook only says what it will be).
Elsewhere the hook says which version a merge would get and writes nothing, so experiments on
branches never use up version numbers.
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from weightline.errors import Refused, WeightlineError
from weightline.settings import Settings
from weightline.store import git

log = logging.getLogger(__name__)


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


def pre_push(settings: Settings, lines: Iterable[str], remote: str | None = None) -> None:
    """Refuse to delete or move a version tag, or to push one whose weights the DVC remote lacks."""
    from weightline.store.index import open_index

    prefix = f"refs/tags/{settings.artifact}@v"
    problems, new = [], []
    for line in lines:
        parts = line.split()
        if len(parts) != 4:
            continue
        _, local_id, remote_ref, remote_id = parts
        if not remote_ref.startswith(prefix):
            continue
        name = remote_ref.removeprefix("refs/tags/")
        if local_id == git.ZERO:
            problems.append(f"{name}: deleting a version tag is refused (versions are immutable)")
        elif remote_id != git.ZERO and remote_id != local_id:
            problems.append(f"{name}: the remote has another {name}; moving a version is refused")
        elif remote_id == git.ZERO:
            new.append(name)
    if new:
        from weightline.dvc.remote import has_object, repository

        with open_index(settings) as index:
            versions = {v.name: v for v in index.versions()}
        with repository(settings.root) as repo:
            for name in new:
                version = versions.get(name)
                md5 = version.summary.get("weights_md5") if version else None
                if md5 and not has_object(repo, md5):
                    problems.append(
                        f"{name}: the DVC remote does not have its weights yet: "
                        "use `weightline push`, which sends the weights before the tag"
                    )
    if problems:
        raise Refused("push refused:\n  " + "\n  ".join(problems))
