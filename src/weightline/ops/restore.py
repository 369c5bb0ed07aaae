"""Getting a version back: into the working tree (checkout) or into a directory (get).

Both verify the weights' SHA-256 against the version's manifest before saying they are done. A
get takes the bytes from the local DVC cache when it has them (then the remote only if the
cached copy fails the check), and from the remote otherwise; nothing is trusted unverified.

Each byte is hashed once per fetch: a local file whose SHA-256 weightline computed before (the
manifest stage, an earlier checkout or get) is trusted while its device, inode, size and mtime
are unchanged (store.digest.Hashes), and so is a link to it or a copy made from it locally in
this command. Bytes that came from a remote are always read and hashed.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from weightline import logs, progress
from weightline.domain.manifest import Manifest, Weights, parse
from weightline.domain.record import Record
from weightline.domain.tags import RegisteredVersion
from weightline.dvc import lock as dvclock
from weightline.errors import IntegrityError, NotFound, Refused, RemoteUnavailable
from weightline.settings import Settings
from weightline.store import git
from weightline.store.digest import Hashes, sha256_file
from weightline.store.files import copy_file, output_directory, temporary_beside, write_atomic
from weightline.store.manifests import manifest_text


def checkout(settings: Settings, version: RegisteredVersion) -> RegisteredVersion:
    """`git checkout <tag>` and `dvc pull`, refusing over uncommitted work, then verify.

    Git's hooks are off for this checkout: the project's post-checkout hook would run a second
    `dvc checkout` right after ours. With a link cache type and every object in the local
    cache, the outputs are linked without DVC (dvc.link, which says when); otherwise one DVC
    session. The weights are read only if nothing vouches for them (see verify_checked_out).
    """
    from weightline.dvc import link
    from weightline.dvc.cache import cache_types, object_path
    from weightline.ops.lookup import check_clean

    check_clean(settings)
    weights = parse(manifest_text(settings, version.commit), settings.manifest)["weights"]
    # The outputs of the commit checked out now (the tree is clean), for the checkout by links.
    before = link.outputs(settings.root) if link.link_first(cache_types(settings.root)) else None
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
    started = time.time_ns()
    cached = None
    if before is not None:
        progress.phase(f"linking the weights and data of {version.name} from the local DVC cache")
    if before is not None and link.checkout(settings.root, before):
        cached = object_path(settings.root, weights["md5"])
    if cached is None:
        cached = pull(settings, version.name, weights["md5"])
    actual = verify_checked_out(settings, weights, cached, started)
    if actual != weights["sha256"]:
        raise IntegrityError(
            f"{weights['path']} has SHA-256 {actual}, but {version.name}'s manifest "
            f"says {weights['sha256']}: the DVC cache or remote is corrupt"
        )
    return version


def pull(settings: Settings, label: str, md5: str) -> Path:
    """`dvc checkout` of the commit checked out, or `dvc pull` if the local cache lacks
    objects; the local cache's path of the object `md5`."""
    from dvc.exceptions import CheckoutError, DvcException

    from weightline.dvc.remote import cache_path, repository

    progress.phase(f"pulling the weights and data of {label} (dvc pull)")
    with repository(settings.root) as repo:
        try:
            try:  # all in the local cache (a rollback, say): no need to ask the remote
                repo.checkout()
            except CheckoutError:  # some objects are not: what `dvc pull` does
                repo.pull()
        except DvcException as error:
            raise RemoteUnavailable(
                f"checked out {label}, but `dvc pull` failed: {error}"
            ) from error
        return cache_path(repo, md5)


CLOCK_SLACK_NS = 100_000_000  # file times come from a coarser clock than time.time_ns()


def verify_checked_out(settings: Settings, weights: Weights, cached: Path, since_ns: int) -> str:
    """The SHA-256 of the checked-out weights, read from disk only if nothing vouches for it.

    Vouched for: the file itself, unchanged since weightline hashed it; or the local DVC cache's
    entry for its MD5 (read now if it was never verified, say just downloaded) when the file is
    that entry (a hardlink or symlink cache type) or a copy DVC made of it in this checkout.
    """
    path = settings.path(weights["path"])
    md5, size, expected = weights["md5"], weights["size"], weights["sha256"]
    hashes = Hashes(settings.root)
    if hashes.known(path, md5, size) == expected:
        return expected
    if not made_from(path, cached, since_ns):
        progress.phase(f"verifying the SHA-256 of {weights['path']}")
        return hashes.sha256(path, md5, size)
    if hashes.known(cached, md5, size) != expected:
        progress.phase(f"verifying the SHA-256 of {weights['path']} (in the local DVC cache)")
    actual = hashes.sha256(cached, md5, size)
    if actual == expected:
        hashes.vouch(path, md5, size, expected)
    return actual


def made_from(path: Path, cached: Path, since_ns: int) -> bool:
    """Whether `path` is the cache entry `cached` itself, or a copy of it written since
    `since_ns` (what `dvc checkout` does with the copy cache type)."""
    try:
        here, there = os.stat(path), os.stat(cached)
    except OSError:
        return False
    if (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino):
        return True
    return here.st_size == there.st_size and here.st_ctime_ns >= since_ns - CLOCK_SLACK_NS


class Fetched(Record):
    FIELDS = ("version", "weights", "sha256", "source")
    __slots__ = FIELDS
    version: RegisteredVersion
    weights: Path
    sha256: str
    source: str  # "cache", "remote" or "output" (already there, verified)

    def __init__(self, version: RegisteredVersion, weights: Path, sha256: str, source: str) -> None:
        self.version, self.weights, self.sha256, self.source = version, weights, sha256, source


def get(
    settings: Settings,
    version: RegisteredVersion | str,
    out_dir: Path,
    dvc_remote: str | None = None,
) -> Fetched:
    """Weights, manifest and signature of a version (or a reference to one) into `out_dir`,
    verified; the working tree is untouched."""
    if isinstance(version, str):
        from weightline.ops.lookup import resolve

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
    from weightline.store.gitrefs import read_files

    text, lock_text, signature = read_files(  # one git process for the three
        settings.root, commit, [settings.manifest, "dvc.lock", settings.signature]
    )
    if text is None:
        text = manifest_text(settings, commit)  # raises NotFound, saying what to do
    manifest = parse(text, f"{settings.manifest} of {label}")
    weights_path = manifest["weights"]["path"]
    if lock_text is None:
        raise NotFound(f"{label} has no dvc.lock: it cannot be fetched")
    entry = dvclock.output(
        dvclock.parse(lock_text, f"dvc.lock of {label}", settings.root), weights_path
    )
    if entry.md5 != manifest["weights"]["md5"]:
        raise IntegrityError(
            f"{label}: dvc.lock records weights {entry.md5}, the manifest "
            f"{manifest['weights']['md5']}: run `weightline verify`"
        )
    out_dir = output_directory(out_dir, settings.root)
    target = out_dir / Path(weights_path).name  # the name only: a path in the manifest can't escape
    for name, content in (("manifest.json", text), ("signature.json", signature)):
        existing = out_dir / name
        if content is not None and existing.exists() and existing.read_text() != content:
            raise Refused(
                f"{existing} exists with other content: remove it or choose an empty directory "
                "(nothing was overwritten)"
            )
    out_dir.mkdir(parents=True, exist_ok=True)
    expected = manifest["weights"]["sha256"]
    source = "fetch"
    if target.exists():  # a link to the verified cache entry (an earlier get) is not read
        md5, size = entry.md5, entry.size
        actual = Hashes(settings.root).known(target, md5, size) or sha256_file(target)
        if actual != expected:
            raise Refused(
                f"{target} already exists with SHA-256 {actual}, but {label} has {expected}: "
                "remove it or choose an empty directory (nothing was overwritten)"
            )
        source = "output"
    # The small files first; the weights come last, verified: their presence says the directory
    # is complete, and a failed fetch takes the small files away. Nothing is synced to disk, as
    # `cp` syncs nothing: a get is as durable as a copy (a sync after a GiB was copied in would
    # double a get; one before it cost about 10 ms).
    written = []
    for name, content in (("manifest.json", text), ("signature.json", signature)):
        if content is not None and not (out_dir / name).exists():
            write_atomic(out_dir / name, content, sync=False)
            written.append(out_dir / name)
    if source != "output":
        try:
            source = fetch_verified(
                settings, entry.md5, entry.size, target, expected, label, dvc_remote
            )
        except BaseException:
            for path in written:
                path.unlink(missing_ok=True)
            raise
    return target, expected, source


def fetch_verified(
    settings: Settings,
    md5: str,
    size: int,
    target: Path,
    expected: str,
    label: str,
    dvc_remote: str | None = None,
) -> str:
    """Put the object at `target` once its SHA-256 is `expected`; return where it came from.

    From the local DVC cache when it holds a good copy, found without importing DVC where the
    configuration allows (dvc.cache); else from the remote, through one DVC session.
    """
    from weightline.dvc.cache import object_path

    cached = object_path(settings.root, md5)
    if cached is not None and copy_verified(settings, cached, md5, size, target, expected, label):
        return "cache"
    from weightline.dvc.remote import cache_path, fetch_object, repository

    with repository(settings.root) as repo:
        if cached is None:  # the configuration may move the cache: DVC knows where
            cached = cache_path(repo, md5)
            if copy_verified(settings, cached, md5, size, target, expected, label):
                return "cache"
        part, source = fetch_object(
            repo,
            md5,
            target,
            dvc_remote,
            f"the weights of {label}",
            use_cache=not cached.exists(),  # only for its message: a good copy was used above
        )
        progress.phase(f"verifying the SHA-256 of the weights of {label}")
        actual = sha256_file(part)  # bytes from a remote: always read
    if actual != expected:
        part.unlink()
        raise IntegrityError(
            f"the {source}'s copy of {label} is corrupt: SHA-256 {actual}, expected {expected}; "
            "nothing was written"
        )
    os.replace(part, target)
    return source


def copy_verified(
    settings: Settings, cached: Path, md5: str, size: int, target: Path, expected: str, label: str
) -> bool:
    """Put the local DVC cache's entry at `target` if its SHA-256 is `expected` (reading it
    only if it was not verified before); False if the cache lacks it or holds other bytes.

    As DVC's `cache.type` says: with a link type, `target` is a link to the cache entry (read
    only, as DVC's protected cache is), else a copy (a reflink where the filesystem can)."""
    from weightline.dvc.cache import cache_types
    from weightline.dvc.link import place

    if not cached.is_file():
        return False
    hashes = Hashes(settings.root)
    if hashes.known(cached, md5, size) != expected:
        progress.phase(f"verifying the SHA-256 of the weights of {label} in the local DVC cache")
    actual = hashes.sha256(cached, md5, size)
    if actual != expected:
        logs.get(__name__).warning(
            "the local DVC cache's copy of %s is corrupt (SHA-256 %s): fetching it from the "
            "remote instead",
            label,
            actual,
        )
        return False
    part = temporary_beside(target, ".part")
    # Linked or copied into a new file, not over the empty one reserving the name: ext4 flushes
    # a file that was truncated and rewritten when it is closed (auto_da_alloc), doubling a copy.
    part.unlink()
    try:
        if place(cached.resolve(), part, cache_types(settings.root) or ["copy"]) is None:
            copy_file(cached, part, f"copying the weights of {label} from the local DVC cache")
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    os.replace(part, target)
    return True


def read_fetched_manifest(directory: Path) -> Manifest:
    return parse((directory / "manifest.json").read_text(), str(directory / "manifest.json"))
