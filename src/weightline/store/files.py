"""Local files: written whole or not at all, copied, and a small cache of derived values."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from weightline import progress
from weightline.errors import Refused


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True


def remove_stale(directory: Path, pattern: str) -> None:
    """Remove temporary files matching `pattern` (`...<pid>.<random><suffix>`) whose writer is
    gone: a kill -9 leaves no chance to clean up, but a live writer's file is never touched."""
    for stale in directory.glob(pattern):
        parts = stale.name.split(".")
        pid = next((int(p[1:]) for p in reversed(parts) if p[:1] == "p" and p[1:].isdigit()), None)
        if pid is not None and not _alive(pid):
            stale.unlink(missing_ok=True)


def temporary_beside(path: Path, suffix: str) -> Path:
    """An empty file next to `path` (same filesystem, so a rename replaces `path` atomically).

    Its name carries this process's id, so leftovers of writers that died are removed while
    other live processes writing the same file at the same time are left alone.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(path.parent, f".{path.name}.p*{suffix}")
    while True:  # what tempfile.mkstemp does, without importing it (7 ms of a get's start)
        tmp = path.with_name(f".{path.name}.p{os.getpid()}.{os.urandom(4).hex()}{suffix}")
        try:
            # The mode a plain open(..., "w") gives (the umask applies; mkstemp's is 0600).
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        return tmp


def write_atomic(path: Path, data: str | bytes, sync: bool = True) -> None:
    """Write via a temporary file and a rename: readers see the old file or the new, never half.

    `sync=False` skips the fsync, for caches whose loss costs only recomputing: a sync right after
    a large write waits for all of it to reach the disk.
    """
    raw = data.encode() if isinstance(data, str) else data
    tmp = temporary_beside(path, ".tmp")
    try:
        with tmp.open("wb") as handle:
            handle.write(raw)
            if sync:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def copy_file(source: Path, target: Path, label: str) -> None:
    """shutil.copyfile (the kernel's fast path) unless a person is watching a bar."""
    if not progress.shown():
        import shutil  # here: with bz2 and lzma, 5 ms of a get's start

        shutil.copyfile(source, target)
        return
    with (
        progress.transfer(label, source.stat().st_size) as bar,
        source.open("rb") as reader,
        target.open("wb") as writer,
    ):
        while chunk := reader.read(8 << 20):
            writer.write(chunk)
            bar.advance(len(chunk))


class LocalCache:
    """Values derived from content, keyed by content hashes, in a gitignored JSON file.

    Keys include DVC's MD5 and size, so a changed file never hits a stale entry; a missing or
    damaged cache only costs recomputing.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.entries: dict[str, object] = json.loads(path.read_text())
        except (OSError, ValueError):
            self.entries = {}

    def get(self, key: str, compute: Callable[[], object]) -> object:
        if key not in self.entries:
            self.entries[key] = compute()
            write_atomic(self.path, json.dumps(self.entries, indent=0, sort_keys=True))
        return self.entries[key]


def _outside_repository_internals(path: Path, root: Path) -> Path:
    if any(not ch.isprintable() for ch in str(path)):
        raise Refused(f"output path {str(path)!r} contains control characters: name a plain path")
    resolved = path.resolve()
    for inside in (root / ".git", root / ".dvc"):
        if resolved == inside or inside.resolve() in resolved.parents:
            raise Refused(
                f"output path {path} is inside {inside.name}/, which git and DVC own: "
                "choose another place"
            )
    return resolved


def output_directory(path: Path, root: Path) -> Path:
    """A directory that results may be written into; refuses places that would damage the repo."""
    resolved = _outside_repository_internals(path, root)
    if resolved.exists() and not resolved.is_dir():
        raise Refused(f"output path {path} is a file: name a directory")
    return resolved


def output_file(path: Path, root: Path) -> Path:
    """A file that a result may be written to (replacing it); the same refusals as directories."""
    resolved = _outside_repository_internals(path, root)
    if resolved.is_dir():
        raise Refused(f"output path {path} is a directory: name a file")
    return resolved
