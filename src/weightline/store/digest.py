"""SHA-256, the hash weightline vouches for (DVC itself only records MD5), computed once per file.

hashlib.file_digest runs at the speed of the CPU's SHA instructions, yet a GiB of weights still
takes most of a second, and the same bytes pass through several commands: the manifest stage
hashes new weights, registration checks them, a checkout or a get verifies them again. `Hashes`
remembers what was hashed, so that each local file is read once:

- an entry is keyed by DVC's MD5 and size of the bytes (what dvc.lock records), and holds their
  SHA-256 and the files that were hashed (or copied locally from a hashed file): device, inode,
  size and mtime in nanoseconds;
- a file is trusted without being read only when all four still match a recorded one, under the
  same MD5 and size; anything else (a changed, replaced or new file, bytes downloaded from a
  remote) is hashed, and recorded only if the file did not change while it was read.

A file changed in place by hand with its mtime restored is not noticed (git's own index makes
the same bet); deleting `.weightline/sha256.json` forgets everything, at the cost of hashing again.
"""

from __future__ import annotations

import json
import os
from contextlib import suppress
from pathlib import Path

TYPE_CHECKING = False  # `typing` for the type checker only (see weightline.settings)
if TYPE_CHECKING:
    from typing import Any

STORE = ".weightline/sha256.json"
KEEP_FILES = 8  # recorded files per MD5 (worktrees, the DVC cache, copies); the oldest go first
KEEP_ENTRIES = 256  # distinct weights remembered; the oldest go first


def sha256_file(path: Path) -> str:
    import hashlib  # here: loading OpenSSL costs 5 ms of start-up that trusted files never use

    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def sha256_stream(stream: Any) -> str:
    """SHA-256 of a binary file object (a local file, or a remote one from DVC's filesystems)."""
    import hashlib

    return hashlib.file_digest(stream, "sha256").hexdigest()


def sha256_bytes(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def identity(path: Path) -> list[int] | None:
    """What says a file is unchanged: device, inode, size, mtime (ns); None if it is missing."""
    try:
        stat = os.stat(path)  # follows a symlink: a symlinked output is its cache entry
    except OSError:
        return None
    return [stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns]


class Hashes:
    """The SHA-256 of files already read, trusted only while each file is provably unchanged."""

    def __init__(self, root: Path) -> None:
        self.path = root / STORE
        try:
            loaded = json.loads(self.path.read_text())
            self.entries: dict[str, Any] = loaded if isinstance(loaded, dict) else {}
        except (OSError, ValueError):
            self.entries = {}  # missing or damaged: it only costs hashing again

    @staticmethod
    def key(md5: str, size: int) -> str:
        return f"{md5}:{size}"

    def known(self, path: Path, md5: str, size: int) -> str | None:
        """The recorded SHA-256 of `path`, if it is a file recorded under this MD5 and size and
        unchanged since; None otherwise (then it must be read)."""
        key = self.key(md5, size)
        entry = self.entries.get(key)
        found = identity(path)
        if not isinstance(entry, dict) or found is None or found[2] != size:
            return None
        files = entry.get("files", [])
        if found not in files:
            return None
        # Used now: the most recent of its entry's files, and its entry of all, for the next
        # record() to keep. Else the DVC cache's entry, trusted by every copy-type rollback,
        # was the oldest file once eight checkouts had recorded their copies, dropped, and read
        # again (a GiB) by the next rollback.
        files.remove(found)
        files.append(found)
        self.entries[key] = self.entries.pop(key)
        return str(entry["sha256"])

    def sha256(self, path: Path, md5: str, size: int) -> str:
        """SHA-256 of a local file: the recorded one while it is unchanged, else read once."""
        cached = self.known(path, md5, size)
        if cached is not None:
            return cached
        before = identity(path)
        digest = sha256_file(path)
        if before is not None and before == identity(path) and before[2] == size:
            self.record(path, md5, size, digest, before)
        return digest

    def vouch(self, path: Path, md5: str, size: int, sha256: str) -> None:
        """Record `path` as holding these bytes without reading it: only for a local copy or link
        just made from a file whose SHA-256 was verified (never for a download)."""
        found = identity(path)
        if found is not None and found[2] == size:
            self.record(path, md5, size, sha256, found)

    def record(self, path: Path, md5: str, size: int, sha256: str, found: list[int]) -> None:
        from weightline.store.files import write_atomic

        key = self.key(md5, size)
        entry = self.entries.pop(key, None)
        if not isinstance(entry, dict) or entry.get("sha256") != sha256:
            entry = {"sha256": sha256, "files": []}  # other bytes than recorded: start over
        files = [f for f in entry["files"] if f[:2] != found[:2]]  # this file's older state
        entry["files"] = [*files, found][-KEEP_FILES:]
        self.entries[key] = entry  # last in the dict: the most recently used
        for stale in list(self.entries)[:-KEEP_ENTRIES]:
            del self.entries[stale]
        with suppress(OSError):  # a read-only checkout: hashing again next time is the only cost
            # Not synced: a damaged store is ignored, and a sync right after a GiB was written
            # would wait for that GiB to reach the disk (most of a copy-type checkout).
            write_atomic(self.path, json.dumps(self.entries, separators=(",", ":")), sync=False)
