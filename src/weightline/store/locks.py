"""One writer at a time: a lock in the shared git directory, held while the registry is changed.

Registration and stage changes read the registry, decide, then write a tag; two processes doing
that at once in one repository (all worktrees included) would compute the same number.
"""

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from weightline.store import git


@contextmanager
def exclusive(root: Path) -> Iterator[None]:
    path = git.common_dir(root) / "weightline.flock"
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
