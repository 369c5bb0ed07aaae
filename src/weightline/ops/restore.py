"""Getting a version back: into the working tree (checkout) or into a directory (get).

Both verify the weights' SHA-256 against the version's manifest before saying they are done. A
get takes the bytes from the local DVC cache when it has them (then the remote only if the
cached copy fails the check), and from the remote otherwise; nothing is trusted unverified.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from weightline import progress
from weightline.domain.manifest import Manifest, parse
from weightline.domain.tags import RegisteredVersion
from weightline.dvc import lock as dvclock
from weightline.errors import IntegrityError, NotFound, Refused, RemoteUnavailable
from weightline.settings import Settings
from weightline.store import git
from weightline.store.digest import sha256_file
from weightline.store.files import output_directory, write_atomic
from weightline.store.manifests import manifest_text

log = logging.getLogger(__name__)


def checkout(settings: Settings, version: RegisteredVersion) -> RegisteredVersion:
    """`git checkout <tag>` and `dvc pull`, refusing over uncommitted work, then verify.

    Git's hooks are off for this checkout: the project's post-checkout hook would run a second
    `dvc checkout` right after ours.
    """
    from weightline.dvc.remote import repository
    from weightline.ops.register import check_clean

    check_clean(settings)
    progress.phase(f"checking out {version.name} (commit {version.commit[:10]})")
    git.run(
        settings.root,
        "-c",
        "core.hooksPath=/dev/null",
        "checkout",
        "--quiet",
        "--detach",
        f"refs/tags/{version.name}",
    )
    from dvc.exceptions import DvcException

    progress.phase(f"pulling the weights and data of {version.name} (dvc pull)")
    with repository(settings.root) as repo:
        try:
            repo.pull()
        except DvcException as error:
            raise RemoteUnavailable(
                f"checked out {version.name}, but `dvc pull` failed: {error}"
            ) from error
    expected = parse(manifest_text(settings, version.commit), settings.manifest)
    progress.phase(f"verifying the SHA-256 of {expected['weights']['path']}")
    actual = sha256_file(settings.path(expected["weights"]["path"]))
    if actual != expected["weights"]["sha256"]:
        raise IntegrityError(
            f"{expected['weights']['path']} has SHA-256 {actual}, but {version.name}'s manifest "
            f"says {expected['weights']['sha256']}: the DVC cache or remote is corrupt"
        )
    return version


@dataclass(frozen=True)
class Fetched:
    version: RegisteredVersion
    weights: Path
    sha256: str
    source: str  # "cache", "remote" or "output" (already there, verified)


def get(
    settings: Settings,
    version: RegisteredVersion | str,
    out_dir: Path,
    dvc_remote: str | None = None,
) -> Fetched:
    """Weights, manifest and signature of a version (or a reference to one) into `out_dir`,
    verified; the working tree is untouched."""
    if isinstance(version, str):
        from weightline.ops.register import resolve

        version = resolve(settings, version)
    weights, sha256, source = get_commit(
        settings, version.commit, version.name, out_dir, dvc_remote
    )
    return Fetched(version, weights, sha256, source)


def get_commit(
    settings: Settings, commit: str, label: str, out_dir: Path, dvc_remote: str | None = None
) -> tuple[Path, str, str]:
    """The same for any commit with a manifest (the gate also checks unregistered candidates).

    The weights land under a temporary name and are renamed into place only once their SHA-256
    matches the manifest: a failed or corrupt download leaves nothing behind.
    """
    text = manifest_text(settings, commit)
    manifest = parse(text, f"{settings.manifest} of {label}")
    weights_path = manifest["weights"]["path"]
    lock_text = git.show(settings.root, commit, "dvc.lock")
    if lock_text is None:
        raise NotFound(f"{label} has no dvc.lock: it cannot be fetched")
    entry = dvclock.output(dvclock.parse(lock_text, f"dvc.lock of {label}"), weights_path)
    if entry.md5 != manifest["weights"]["md5"]:
        raise IntegrityError(
            f"{label}: dvc.lock records weights {entry.md5}, the manifest "
            f"{manifest['weights']['md5']}: run `weightline verify`"
        )
    out_dir = output_directory(out_dir, settings.root)
    target = out_dir / Path(weights_path).name  # the name only: a path in the manifest can't escape
    signature = git.show(settings.root, commit, settings.signature)
    for name, content in (("manifest.json", text), ("signature.json", signature)):
        existing = out_dir / name
        if content is not None and existing.exists() and existing.read_text() != content:
            raise Refused(
                f"{existing} exists with other content: remove it or choose an empty directory "
                "(nothing was overwritten)"
            )
    out_dir.mkdir(parents=True, exist_ok=True)
    expected = manifest["weights"]["sha256"]
    if target.exists():
        actual = sha256_file(target)
        if actual != expected:
            raise Refused(
                f"{target} already exists with SHA-256 {actual}, but {label} has {expected}: "
                "remove it or choose an empty directory (nothing was overwritten)"
            )
        source = "output"
    else:
        source = fetch_verified(settings, entry.md5, target, expected, label, dvc_remote)
    write_atomic(out_dir / "manifest.json", text)
    if signature is not None:
        write_atomic(out_dir / "signature.json", signature)
    return target, expected, source


def fetch_verified(
    settings: Settings,
    md5: str,
    target: Path,
    expected: str,
    label: str,
    dvc_remote: str | None = None,
) -> str:
    """Put the object at `target` once its SHA-256 is `expected`; return where it came from."""
    from weightline.dvc.remote import fetch_object, repository

    with repository(settings.root) as repo:
        part, source = fetch_object(repo, md5, target, dvc_remote, f"the weights of {label}")
        progress.phase(f"verifying the SHA-256 of the weights of {label}")
        actual = sha256_file(part)
        if actual != expected and source == "cache":
            part.unlink()
            log.warning(
                "the local DVC cache's copy of %s is corrupt (SHA-256 %s): fetching it from the "
                "remote instead",
                label,
                actual,
            )
            part, source = fetch_object(
                repo, md5, target, dvc_remote, f"the weights of {label}", use_cache=False
            )
            actual = sha256_file(part)
    if actual != expected:
        part.unlink()
        raise IntegrityError(
            f"the {source}'s copy of {label} is corrupt: SHA-256 {actual}, expected {expected}; "
            "nothing was written"
        )
    os.replace(part, target)
    return source


def read_fetched_manifest(directory: Path) -> Manifest:
    return parse((directory / "manifest.json").read_text(), str(directory / "manifest.json"))
