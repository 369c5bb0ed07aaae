"""The DVC side: workspace status, pushing, and objects on the remote, through DVC's Python API.

Imported lazily by the commands that need it: importing DVC costs about half a second.
"""

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from weightline.errors import WeightlineError
from weightline.store.digest import sha256_stream
from weightline.store.files import temporary_beside


@contextmanager
def repository(root: Path) -> Iterator:
    from dvc.repo import Repo

    os.environ.setdefault("DVC_NO_ANALYTICS", "1")
    _set_aside_a_damaged_rwlock(root / ".dvc" / "tmp" / "rwlock")
    with Repo(str(root)) as repo:
        yield repo


def _unreadable(path: Path) -> bool:
    try:
        json.loads(path.read_bytes())
    except FileNotFoundError:
        return False
    except ValueError:
        return True
    return False


def _set_aside_a_damaged_rwlock(path: Path) -> None:
    """Let DVC work again after a DVC call was killed while it rewrote `.dvc/tmp/rwlock`.

    DVC rewrites that file in place, so a kill -9 at the wrong moment leaves it unreadable and every
    later DVC command fails. It only records which running DVC calls hold which outputs; DVC's own
    advice is to remove it. We move it aside (kept for a look) under DVC's guard for that file.
    """
    if not _unreadable(path):
        return
    from dvc.lock import make_lock

    with make_lock(str(path.with_name("rwlock.lock")), tmp_dir=str(path.parent)):
        if _unreadable(path):
            path.replace(path.with_name("rwlock.damaged"))
            print(
                f"weightline: {path} was unreadable (a DVC command was killed while writing it);"
                " moved it to rwlock.damaged",
                file=sys.stderr,
            )


def status(root: Path, targets: list[str] | None = None) -> dict:
    """`dvc status`: stages and outputs that do not match dvc.lock (empty when all is in order)."""
    try:
        with repository(root) as repo:
            return repo.status(targets=targets)
    except Exception as error:
        raise WeightlineError(
            f"DVC cannot read this project's pipeline ({error}): check dvc.yaml and dvc.lock "
            "(a damaged dvc.lock is restored by `git checkout dvc.lock` or rebuilt by `dvc repro`)"
        ) from None


def cache_sha256(repo, md5: str) -> str | None:
    """SHA-256 of the local DVC cache's copy of an object, or None if the cache lacks it."""
    path = Path(repo.cache.local.oid_to_path(md5))
    if not path.exists():
        return None
    with path.open("rb") as stream:
        return sha256_stream(stream)


def _odb(repo, remote: str | None):
    try:
        return repo.cloud.get_remote_odb(remote, "weightline")
    except Exception as error:
        raise WeightlineError(
            f"no usable DVC remote ({error}): set one with `dvc remote add --default NAME URL`"
        ) from None


def describe(repo, remote: str | None) -> str:
    name = remote or repo.config["core"].get("remote") or "<none>"
    return f"DVC remote {name!r}"


def _reach(action: str, repo, remote: str | None, call):
    """Run one remote operation, turning network and credential failures into a clear error."""
    try:
        return call()
    except WeightlineError:
        raise
    except Exception as error:
        raise WeightlineError(
            f"could not {action} {describe(repo, remote)}: {error}. Check that it is reachable "
            "and that credentials are set (environment or `dvc remote modify --local`)"
        ) from None


def has_object(repo, md5: str, remote: str | None = None) -> bool:
    odb = _odb(repo, remote)
    return _reach("read", repo, remote, lambda: odb.exists(md5))


def remote_sha256(repo, md5: str, remote: str | None = None) -> str:
    """Stream an object from the remote through SHA-256, without storing it."""
    odb = _odb(repo, remote)

    def digest() -> str:
        with odb.fs.open(odb.oid_to_path(md5), "rb") as stream:
            return sha256_stream(stream)

    return _reach("read from", repo, remote, digest)


def download(repo, md5: str, destination: Path, remote: str | None = None) -> Path:
    """Copy an object from the remote into a temporary file beside `destination`; return it."""
    odb = _odb(repo, remote)
    part = temporary_beside(destination, ".part")

    def copy() -> None:
        odb.fs.get_file(odb.oid_to_path(md5), str(part))

    try:
        _reach("download from", repo, remote, copy)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return part


def push(repo, revs: list[str] | None = None, remote: str | None = None) -> int:
    """Send the outputs of `revs` (or of the workspace) to the remote; return how many went."""
    return _reach(
        "push to",
        repo,
        remote,
        lambda: repo.push(revs=revs, workspace=not revs, remote=remote),
    )
