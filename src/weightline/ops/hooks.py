"""What the git hooks in .githooks/ run: registration after a commit, guards before a push."""

import sys
from collections.abc import Iterable

from weightline.domain.tags import registered_versions
from weightline.errors import WeightlineError
from weightline.settings import Settings
from weightline.store import git


def post_commit(settings: Settings) -> None:
    """Register HEAD if it changed the manifest; a refusal is reported, the commit stands."""
    from weightline.ops.register import register

    if settings.manifest not in git.changed_files(settings.root, "HEAD"):
        return
    try:
        done = register(settings)
    except WeightlineError as error:
        print(f"weightline: not registered: {error}", file=sys.stderr)
        return
    print(f"weightline: registered {done.version.name} ({done.bump.level}: {done.bump.reason})")


def pre_push(settings: Settings, lines: Iterable[str]) -> None:
    """Refuse to delete or move a version tag, or to push one whose weights the DVC remote lacks."""
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

        by_name = {v.name: v for v in registered_versions(settings.root, settings.artifact)}
        with repository(settings.root) as repo:
            for name in new:
                version = by_name.get(name)
                md5 = version and version.summary.get("weights_md5")
                if md5 and not has_object(repo, md5):
                    problems.append(
                        f"{name}: the DVC remote does not have its weights yet: "
                        "use `weightline push`, which sends the weights before the tag"
                    )
    if problems:
        raise WeightlineError("push refused:\n  " + "\n  ".join(problems))
