"""The DVC side: workspace status, pushing, and objects in the cache and on the remote.

Through DVC's Python API, imported lazily by the commands that need it (importing DVC costs
about half a second). Every remote operation turns network and credential failures into
RemoteUnavailable, keeping the cause.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from weightline import logs, progress
from weightline.errors import ConfigurationError, NotFound, RemoteUnavailable, WeightlineError
from weightline.store.digest import sha256_stream
from weightline.store.files import copy_file, temporary_beside

log = logs.get(__name__)
T = TypeVar("T")


def absolute_locations(root: Path) -> dict[str, Any]:
    """DVC config overrides that pin every local remote and the cache to absolute paths.

    DVC resolves a relative directory remote (the template's default `../<slug>-dvc-storage`)
    against the working tree for the workspace, but against the git tree's root (`/`) when it
    reads the config of another revision (pushing a version that is not checked out), so objects
    would land outside the project. Resolving the paths once, as DVC does for the workspace, and
    passing them as overrides makes every revision use the same places.
    """
    from dvc.config import Config

    try:
        config = Config(dvc_dir=str(root / ".dvc"))  # all levels: system, global, repo, local
    except Exception as error:  # DVC's config errors share no base class worth naming
        raise ConfigurationError(
            f"cannot read DVC's configuration in {root}/.dvc: {error}"
        ) from error
    overrides: dict[str, Any] = {}
    for name, remote in (config.get("remote") or {}).items():
        url = str(remote.get("url", ""))
        if url and "://" not in url:  # DVC resolved it against .dvc/ when loading
            overrides.setdefault("remote", {})[name] = {"url": str(Path(url).resolve())}
    cache = (config.get("cache") or {}).get("dir")
    if cache:
        overrides["cache"] = {"dir": str(Path(cache).resolve())}
    return overrides


@contextmanager
def repository(root: Path) -> Iterator[Any]:
    """A DVC Repo for `root`, whose remotes and cache are the same for every revision."""
    from dvc.repo import Repo

    os.environ.setdefault("DVC_NO_ANALYTICS", "1")
    _set_aside_a_damaged_rwlock(root / ".dvc" / "tmp" / "rwlock")
    with Repo(str(root), config=absolute_locations(root)) as repo:
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
            log.warning(
                "%s was unreadable (a DVC command was killed while writing it); "
                "moved it to rwlock.damaged",
                path,
            )


def status(root: Path, targets: list[str] | None = None) -> dict[str, Any]:
    """`dvc status`: stages and outputs that do not match dvc.lock (empty when all is in order)."""
    try:
        with repository(root) as repo:
            found: dict[str, Any] = repo.status(targets=targets)
            return found
    except WeightlineError:
        raise
    except Exception as error:
        raise ConfigurationError(
            f"DVC cannot read this project's pipeline ({error}): check dvc.yaml and dvc.lock "
            "(a damaged dvc.lock is restored by `git checkout dvc.lock` or rebuilt by `dvc repro`)"
        ) from error


def cache_path(repo: Any, md5: str) -> Path:
    return Path(repo.cache.local.oid_to_path(md5))


def cache_sha256(repo: Any, md5: str) -> str | None:
    """SHA-256 of the local DVC cache's copy of an object, or None if the cache lacks it."""
    path = cache_path(repo, md5)
    if not path.exists():
        return None
    with path.open("rb") as stream:
        return sha256_stream(stream)


def _odb(repo: Any, remote: str | None) -> Any:
    try:
        return repo.cloud.get_remote_odb(remote, "weightline")
    except Exception as error:
        raise ConfigurationError(
            f"no usable DVC remote ({error}): set one with `dvc remote add --default NAME URL`"
        ) from error


def describe(repo: Any, remote: str | None) -> str:
    name = remote or repo.config["core"].get("remote") or "<none>"
    return f"DVC remote {name!r}"


def _reach(action: str, repo: Any, remote: str | None, call: Callable[[], T]) -> T:
    """Run one remote operation, turning network and credential failures into a clear error."""
    try:
        return call()
    except WeightlineError:
        raise
    except Exception as error:
        raise RemoteUnavailable(
            f"could not {action} {describe(repo, remote)}: {error}. Check that it is reachable "
            "and that credentials are set (environment or `dvc remote modify --local`)"
        ) from error


def has_object(repo: Any, md5: str, remote: str | None = None) -> bool:
    odb = _odb(repo, remote)
    return bool(_reach("read", repo, remote, lambda: odb.exists(md5)))


def remote_sha256(repo: Any, md5: str, remote: str | None = None) -> str:
    """Stream an object from the remote through SHA-256, without storing it."""
    odb = _odb(repo, remote)

    def digest() -> str:
        with odb.fs.open(odb.oid_to_path(md5), "rb") as stream:
            return sha256_stream(stream)

    return _reach("read from", repo, remote, digest)


def fetch_object(
    repo: Any,
    md5: str,
    destination: Path,
    remote: str | None = None,
    label: str = "the weights",
    use_cache: bool = True,
) -> tuple[Path, str]:
    """Copy an object into a temporary file beside `destination`: from the local DVC cache when
    it has it (and `use_cache`), else from the remote. Returns (the file, "cache" or "remote").

    The caller verifies the bytes (SHA-256) before renaming the file into place.
    """
    part = temporary_beside(destination, ".part")
    try:
        cached = cache_path(repo, md5)
        if use_cache and cached.exists():
            copy_file(cached, part, f"copying {label} from the local DVC cache")
            return part, "cache"
        odb = _odb(repo, remote)

        def copy() -> None:
            # Straight to the download: an existence check first would answer "no" for a remote
            # that cannot be reached or read (some filesystems say so), hiding the real cause.
            try:
                with progress.transfer(f"downloading {label} from {describe(repo, remote)}") as bar:
                    odb.fs.get_file(odb.oid_to_path(md5), str(part), callback=_callback(bar))
            except FileNotFoundError as error:
                where = "neither the local DVC cache nor the" if use_cache else "not even the"
                raise NotFound(
                    f"{where} {describe(repo, remote)} has {label} "
                    f"(object {md5}): push them first (`weightline push` in the clone that "
                    "trained them), or `dvc fetch` them from where they are"
                ) from error

        _reach("download from", repo, remote, copy)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return part, "remote"


def _callback(bar: progress.Bar) -> Any:
    """An fsspec callback (what DVC's filesystems report bytes to) that moves `bar`."""
    from fsspec.callbacks import Callback  # type: ignore[import-untyped]

    def moved(total: int | None, done: int, **_: object) -> None:
        bar.total = total or bar.total
        bar.moved_to(done)

    return Callback(hooks={"weightline": moved})


def push(repo: Any, revs: list[str] | None = None, remote: str | None = None) -> int:
    """Send the outputs of `revs` (or of the workspace) to the remote; return how many went.

    DVC draws its own byte bars on a terminal (weightline.progress turns them on and off)."""
    progress.phase(
        f"pushing the DVC outputs of {', '.join(r[:10] for r in revs) if revs else 'the workspace'}"
        f" to {describe(repo, remote)}"
    )
    pushed: int = _reach(
        "push to",
        repo,
        remote,
        lambda: repo.push(revs=revs, workspace=not revs, remote=remote),
    )
    return pushed
