"""Files written safely: whole or not at all, and a small cache of derived values."""

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from weightline.errors import WeightlineError


def default_mode() -> int:
    """The mode a plain `open(..., "w")` would give (mkstemp's own is 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def temporary_beside(path: Path, suffix: str) -> Path:
    """An empty file next to `path` (same filesystem, so a rename replaces `path` atomically).

    Leftovers of an earlier writer of the same file that was killed (kill -9 leaves no chance to
    clean up) are removed first: each of these files has one writer at a time.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(f".{path.name}.*{suffix}"):
        stale.unlink(missing_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    os.close(fd)
    os.chmod(tmp, default_mode())
    return Path(tmp)


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write via a temporary file and a rename: readers see the old file or the new, never half."""
    raw = data.encode() if isinstance(data, str) else data
    tmp = temporary_beside(path, ".tmp")
    try:
        with tmp.open("wb") as handle:
            handle.write(raw)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class LocalCache:
    """Values derived from content, keyed by content hashes, in a gitignored JSON file.

    Keys include DVC's MD5 and size, so a changed file never hits a stale entry; a missing or
    damaged cache only costs recomputing.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.entries: dict = json.loads(path.read_text())
        except (OSError, ValueError):
            self.entries = {}

    def get(self, key: str, compute: Callable[[], object]) -> object:
        if key not in self.entries:
            self.entries[key] = compute()
            write_atomic(self.path, json.dumps(self.entries, indent=0, sort_keys=True))
        return self.entries[key]


def output_directory(path: Path, root: Path) -> Path:
    """A directory that results may be written into; refuses places that would damage the repo."""
    if any(not ch.isprintable() for ch in str(path)):
        raise WeightlineError(f"-o {str(path)!r} contains control characters: name a plain path")
    resolved = path.resolve()
    for inside in (root / ".git", root / ".dvc"):
        if resolved == inside or inside in resolved.parents:
            raise WeightlineError(
                f"-o {path} is inside {inside.name}/, which git and DVC own: choose another "
                "directory"
            )
    if resolved.exists() and not resolved.is_dir():
        raise WeightlineError(f"-o {path} is a file: name a directory")
    return resolved
