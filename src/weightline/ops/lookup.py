"""Finding a version by what people call it, and the clean tree a version is made from.

Kept apart from registration so that a rollback, a get or a lookup imports only this: the
registration's rules (bumps, signatures) are not theirs to pay for at start-up
(benchmarks/restore_speed.py).
"""

from __future__ import annotations

from weightline.domain.tags import RegisteredVersion
from weightline.errors import NotFound, Refused
from weightline.settings import Settings
from weightline.store import git
from weightline.store.index import Index, open_index


def resolve(settings: Settings, ref: str) -> RegisteredVersion:
    """The version a reference names, exactly; anything vague is refused with what exists.

    A reference is `v1.2.0`, `model@v1.2.0`, a stage (`production`: the version holding it), a
    stage tag (`model#production#7`: the version that tag assigned) or `HEAD` (the version
    registered on the checked-out commit). "latest" is never one.
    """
    with open_index(settings) as index:
        if ref == "HEAD":
            return head_version(settings, index)
        return index.resolve(ref)


def head_version(settings: Settings, index: Index) -> RegisteredVersion:
    commit = git.head(settings.root)
    found = index.version_at(commit)
    if found is None:
        raise NotFound(f"HEAD ({commit[:10]}) is not a registered version; {index.listing()}")
    return found


def check_clean(settings: Settings) -> None:
    dirty = git.dirty_paths(settings.root)
    if dirty:
        shown = ", ".join(dirty[:5]) + (" ..." if len(dirty) > 5 else "")
        raise Refused(
            f"the working tree has uncommitted changes ({shown}): commit or stash them, "
            "so that the version is exactly what the commit holds"
        )
