"""Getting a version back: into the working tree (checkout) or into a directory (get).

Both verify the weights' SHA-256 against the version's manifest before saying they are done.
"""

import os
from dataclasses import dataclass
from pathlib import Path

from weightline.domain.manifest import parse
from weightline.domain.tags import RegisteredVersion
from weightline.dvc import lock as dvclock
from weightline.dvc.remote import download, repository
from weightline.errors import WeightlineError
from weightline.ops.register import check_clean, manifest_text, resolve
from weightline.settings import Settings
from weightline.store import git
from weightline.store.digest import sha256_file
from weightline.store.files import output_directory, write_atomic


def checkout(settings: Settings, ref: str) -> RegisteredVersion:
    """`git checkout <tag>` and `dvc pull`, refusing over uncommitted work, then verify."""
    version = resolve(settings, ref)
    check_clean(settings)
    git.run(settings.root, "checkout", "--quiet", "--detach", f"refs/tags/{version.name}")
    from dvc.exceptions import DvcException

    with repository(settings.root) as repo:
        try:
            repo.pull()
        except DvcException as error:
            raise WeightlineError(
                f"checked out {version.name}, but `dvc pull` failed: {error}"
            ) from None
    expected = parse(manifest_text(settings, version.commit), settings.manifest)
    actual = sha256_file(settings.path(expected["weights"]["path"]))
    if actual != expected["weights"]["sha256"]:
        raise WeightlineError(
            f"{expected['weights']['path']} has SHA-256 {actual}, but {version.name}'s manifest "
            f"says {expected['weights']['sha256']}: the DVC cache or remote is corrupt"
        )
    return version


@dataclass(frozen=True)
class Fetched:
    version: RegisteredVersion
    weights: Path
    sha256: str


def get(settings: Settings, ref: str, out_dir: Path, dvc_remote: str | None = None) -> Fetched:
    """Weights, manifest and signature of a version into `out_dir`, verified, worktree untouched."""
    version = resolve(settings, ref)
    weights, sha256 = get_commit(settings, version.commit, version.name, out_dir, dvc_remote)
    return Fetched(version, weights, sha256)


def get_commit(
    settings: Settings, commit: str, label: str, out_dir: Path, dvc_remote: str | None = None
) -> tuple[Path, str]:
    """The same for any commit with a manifest (the gate also checks unregistered candidates).

    The weights land under a temporary name and are renamed into place only once their SHA-256
    matches the manifest: a failed or corrupt download leaves nothing behind.
    """
    text = manifest_text(settings, commit)
    manifest = parse(text, f"{settings.manifest} of {label}")
    weights_path = manifest["weights"]["path"]
    lock_text = git.show(settings.root, commit, "dvc.lock")
    if lock_text is None:
        raise WeightlineError(f"{label} has no dvc.lock: it cannot be fetched")
    entry = dvclock.output(dvclock.parse(lock_text, f"dvc.lock of {label}"), weights_path)
    if entry.md5 != manifest["weights"]["md5"]:
        raise WeightlineError(
            f"{label}: dvc.lock records weights {entry.md5}, the manifest "
            f"{manifest['weights']['md5']}: run `weightline verify`"
        )
    out_dir = output_directory(out_dir, settings.root)
    target = out_dir / Path(weights_path).name  # the name only: a path in the manifest can't escape
    signature = git.show(settings.root, commit, settings.signature)
    for name, content in (("manifest.json", text), ("signature.json", signature)):
        existing = out_dir / name
        if content is not None and existing.exists() and existing.read_text() != content:
            raise WeightlineError(
                f"{existing} exists with other content: remove it or choose an empty directory "
                "(nothing was overwritten)"
            )
    out_dir.mkdir(parents=True, exist_ok=True)
    expected = manifest["weights"]["sha256"]
    if target.exists():
        actual = sha256_file(target)
        if actual != expected:
            raise WeightlineError(
                f"{target} already exists with SHA-256 {actual}, but {label} has {expected}: "
                "remove it or choose an empty directory (nothing was overwritten)"
            )
    else:
        with repository(settings.root) as repo:
            part = download(repo, entry.md5, target, dvc_remote)
        actual = sha256_file(part)
        if actual != expected:
            part.unlink()
            raise WeightlineError(
                f"the remote's copy of {label} is corrupt: SHA-256 {actual}, expected "
                f"{expected}; nothing was written"
            )
        os.replace(part, target)
    write_atomic(out_dir / "manifest.json", text)
    if signature is not None:
        write_atomic(out_dir / "signature.json", signature)
    return target, actual
