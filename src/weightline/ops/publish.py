"""Pushing versions: the weights reach the DVC remote first, the tag reaches the git remote after.

A tag on the git remote tells deployments "this version exists"; it must never arrive before the
weights it names can be fetched. So: push DVC data, check that the remote has the weights, and only
then push the tags, all of them or none.
"""

from weightline.domain.tags import RegisteredVersion, registered_versions
from weightline.dvc.remote import cache_sha256, has_object, push, repository
from weightline.errors import WeightlineError
from weightline.settings import Settings
from weightline.store import git


def remote_tags(settings: Settings, git_remote: str) -> set[str]:
    if not git.run(settings.root, "remote", "get-url", git_remote, check=False):
        raise WeightlineError(
            f"there is no git remote {git_remote!r}: add one (`git remote add {git_remote} URL`) "
            "or name another with --git-remote"
        )
    out = git.run(
        settings.root, "ls-remote", "--tags", git_remote, f"refs/tags/{settings.artifact}@v*"
    )
    return {line.split("refs/tags/", 1)[1] for line in out.splitlines() if "^{}" not in line}


def weights_on_remote(
    settings: Settings, versions: list[RegisteredVersion], dvc_remote: str | None = None
) -> None:
    """Push each version's DVC outputs unless the remote already has its weights; then check."""
    with repository(settings.root) as repo:
        for version in versions:
            md5 = version.summary.get("weights_md5")
            if not md5:
                raise WeightlineError(f"{version.name} has no weights hash in its tag message")
            if has_object(repo, md5, dvc_remote):
                continue
            expected, cached = version.summary.get("weights_sha256"), cache_sha256(repo, md5)
            if cached is not None and cached != expected:
                raise WeightlineError(
                    f"the local DVC cache's copy of {version.name}'s weights is corrupt "
                    f"(SHA-256 {cached}, expected {expected}): nothing was pushed. Remove it "
                    f"(`dvc gc` or delete it from .dvc/cache) and fetch a good copy"
                )
            push(repo, revs=[version.commit], remote=dvc_remote)
            if not has_object(repo, md5, dvc_remote):
                raise WeightlineError(
                    f"the DVC remote still lacks the weights of {version.name} after pushing "
                    "(are they in the local cache? `dvc fetch --rev` them from where they are): "
                    "no tag was pushed"
                )


def push_versions(
    settings: Settings,
    names: list[str] | None = None,
    git_remote: str | None = None,
    dvc_remote: str | None = None,
) -> list[str]:
    """Push the weights, then the tags, of versions the git remote does not have yet."""
    git_remote = git_remote or settings.git_remote
    already = remote_tags(settings, git_remote)
    versions = [
        v
        for v in registered_versions(settings.root, settings.artifact)
        if v.name not in already and (names is None or v.name in names)
    ]
    if not versions:
        return []
    weights_on_remote(settings, versions, dvc_remote)
    refspecs = [f"refs/tags/{v.name}:refs/tags/{v.name}" for v in versions]
    git.run(settings.root, "push", "--atomic", "--quiet", git_remote, *refspecs)
    return [v.name for v in versions]
