"""Reading an artifact's tags out of git fast: one listing, a stat() fingerprint, one batch reader.

What the index (index.py) needs from git and nothing more, written so that a warm query at 10,000
versions costs little more than a bare `git for-each-ref`: no git process at all when the
fingerprint shows nothing changed, and one `git cat-file --batch` for every object it must read.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

from weightline.errors import WeightlineError

# `typing` for the type checker only: the query path does not import it (see settings.py).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_TAGGER = rb"^tagger (.*) <(.*)> (\d+) ([+-])(\d\d)(\d\d)$"  # compiled when first used
_SIGNATURE = r"^-----BEGIN (PGP|SSH) SIGNATURE-----$"

# Plain classes, not dataclasses or NamedTuples: importing those costs a warm query a third more.


class Ref:
    """A tag as `git for-each-ref` lists it (its object is read only if the index lacks it)."""

    __slots__ = ("name", "object_id")

    def __init__(self, name: str, object_id: str) -> None:
        self.name, self.object_id = name, object_id


class TagObject:
    """What a ref points at, once read: an annotated tag's target, or a lightweight tag."""

    __slots__ = ("fields", "object_type", "target_id", "target_type")

    def __init__(
        self, object_type: str, target_id: str, target_type: str, fields: dict[str, Any]
    ) -> None:
        self.object_type = object_type  # "tag" if annotated, "commit" for a lightweight tag
        self.target_id = target_id  # the object the tag names ("" for a lightweight tag)
        self.target_type = target_type
        self.fields = fields  # author, email, created, created_epoch, message ({} if no tag)


def list_refs(root: Path, artifact: str) -> bytes:
    """The artifact's version and stage tags as `git for-each-ref` prints them (compared whole).

    Only names and object ids: anything more (types, peeled targets) would make git open every
    tag object, which at 10,000 tags costs more than everything else a warm query does.
    """
    import subprocess

    done = subprocess.run(
        [
            "git",
            "for-each-ref",
            "--format=%(objectname) %(refname)",
            f"refs/tags/{artifact}@*",
            f"refs/tags/{artifact}#*",
        ],
        cwd=root,
        capture_output=True,
    )
    if done.returncode != 0:
        raise WeightlineError(f"`git for-each-ref` failed: {done.stderr.decode().strip()}")
    return done.stdout


def parse_refs(listing: bytes) -> list[Ref]:
    refs = []
    for line in listing.decode("utf-8", "replace").splitlines():
        object_id, _, refname = line.partition(" ")
        refs.append(Ref(refname.removeprefix("refs/tags/"), object_id))
    return refs


def common_git_dir(root: Path) -> Path | None:
    """The repository's shared .git directory, found without running git (None if unsure)."""
    if any(os.environ.get(v) for v in ("GIT_DIR", "GIT_COMMON_DIR", "GIT_WORK_TREE")):
        return None
    dot_git = root / ".git"
    if dot_git.is_dir():
        return dot_git
    try:
        gitdir = dot_git.read_text().removeprefix("gitdir:").strip()
    except OSError:
        return None
    linked = (root / gitdir).resolve()
    try:
        return (linked / (linked / "commondir").read_text().strip()).resolve()
    except OSError:
        return linked


SETTLED_NS = 2_000_000_000  # refs storage untouched this long is safe to fingerprint by mtime


def refs_state(root: Path) -> str | None:
    """A fingerprint of where git keeps tags, from stat() alone; None when it cannot be trusted.

    Git changes refs only by renaming a lock file into place or by unlinking, so every change
    to a tag touches the mtime of `packed-refs`, of a directory under refs/tags, or of the
    reftable's tables.list (a file edited in place by hand, bypassing git, is not noticed
    until the next change; deleting the index fixes that too). Like git's own "racy" check,
    a fingerprint taken less than two seconds after the last change is not trusted (a change
    in the same clock tick could leave the mtime as it was): the caller then lists the refs
    with git, as it would without one.
    """
    common = common_git_dir(root)
    if common is None:
        return None
    started = time.time_ns()
    parts, newest = [], 0
    for path in (common / "packed-refs", common / "reftable" / "tables.list"):
        try:
            stat = os.stat(path)
        except FileNotFoundError:
            parts.append("-")
            continue
        parts.append(f"{stat.st_ino}:{stat.st_size}:{stat.st_mtime_ns}")
        newest = max(newest, stat.st_mtime_ns)
    pending = [str(common / "refs" / "tags")]
    while pending:
        directory = pending.pop()
        try:
            stat = os.stat(directory)
            with os.scandir(directory) as entries:
                pending += sorted(e.path for e in entries if e.is_dir(follow_symlinks=False))
        except FileNotFoundError:
            parts.append(f"{directory}:-")
            continue
        parts.append(f"{directory}:{stat.st_ino}:{stat.st_mtime_ns}")
        newest = max(newest, stat.st_mtime_ns)
    if newest > started - SETTLED_NS:
        return None
    return "|".join(parts)


class Batch:
    """One `git cat-file --batch` process, asked for objects in rounds, answering in order."""

    PIPE_BYTES = 1 << 20  # git inflates this far ahead of us (the default pipe holds 64 KiB)

    def __init__(self, root: Path) -> None:
        import subprocess

        self.process = subprocess.Popen(
            ["git", "cat-file", "--batch"],
            cwd=root,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.unread = 0  # answers asked for and not read yet
        import fcntl

        if hasattr(fcntl, "F_SETPIPE_SZ"):  # Linux: a bigger pipe lets git work while we parse
            with suppress(OSError):
                fcntl.fcntl(self.process.stdout, fcntl.F_SETPIPE_SZ, self.PIPE_BYTES)  # type: ignore[arg-type]

    def read(self, names: list[str]) -> list[tuple[str, bytes] | None]:
        """(type, content) for each name (`<oid>` or `<commit>:<path>`), None if missing."""
        return list(self.stream(names))

    def stream(self, names: list[str]) -> Iterator[tuple[str, bytes] | None]:
        """The same, one answer at a time as git gives it: git reads and inflates the next
        objects while the caller works on this one (two processes, two cores)."""
        stdin, stdout = self.process.stdin, self.process.stdout
        assert stdin is not None and stdout is not None  # both are pipes (see __init__)

        def feed() -> None:  # a thread, so that a full output pipe never blocks our writing
            with suppress(BrokenPipeError, ValueError):
                stdin.write("".join(f"{name}\n" for name in names).encode())
                stdin.flush()

        import threading

        writer = threading.Thread(target=feed, daemon=True)
        writer.start()
        self.unread += len(names)
        for _ in names:
            header = stdout.readline().split()
            self.unread -= 1
            if len(header) != 3 or header[1] not in (b"blob", b"tag", b"commit", b"tree"):
                if not header:
                    raise WeightlineError(
                        "`git cat-file --batch` stopped: "
                        + (self.process.stderr.read() if self.process.stderr else b"")
                        .decode("utf-8", "replace")
                        .strip()
                    )
                yield None  # "<name> missing" (or ambiguous)
                continue
            found = (header[1].decode(), stdout.read(int(header[2])))
            stdout.read(1)  # the newline after the contents
            yield found
        writer.join()

    def close(self) -> None:
        if self.unread:  # a caller stopped reading (an error): git may be blocked writing
            self.process.kill()
        with suppress(BrokenPipeError):
            if self.process.stdin:
                self.process.stdin.close()
        self.process.wait()


def read_files(root: Path, commit: str, paths: list[str]) -> list[str | None]:
    """The text of files at a commit (None where missing), through one git process."""
    batch = Batch(root)
    try:
        found = batch.read([f"{commit}:{path}" for path in paths])
    finally:
        batch.close()
    return [
        item[1].decode("utf-8", "replace") if item and item[0] == "blob" else None for item in found
    ]


def tag_object(found: tuple[str, bytes] | None) -> TagObject | None:
    if found is None:
        return None
    kind, raw = found
    if kind != "tag":
        return TagObject(kind, "", "", {})
    head = raw.partition(b"\n\n")[0]
    target = re.search(rb"^object ([0-9a-f]+)$", head, re.MULTILINE)
    target_type = re.search(rb"^type (\w+)$", head, re.MULTILINE)
    if not target or not target_type:
        return None
    return TagObject("tag", target[1].decode(), target_type[1].decode(), parse_tag_object(raw))


def message_of(found: tuple[str, bytes] | None) -> str:
    """The message of a tag object as parse_tag_object gives it ("" if it is not a tag)."""
    if found is None or found[0] != "tag":
        return ""
    return message_text(found[1].partition(b"\n\n")[2])


def message_text(body: bytes) -> str:
    """A tag's message without its signature and trailing newlines (as `git tag -l` shows it)."""
    message = body.decode("utf-8", "replace")
    # Most tags are unsigned: the substring test spares them the search (a cold index build
    # at 10,000 versions reads every tag's message: 60 ms of regex scanning).
    cut = re.search(_SIGNATURE, message, re.MULTILINE) if "-----BEGIN " in message else None
    if cut:
        message = message[: cut.start()]
    return message.rstrip("\n")


def parse_tag_object(raw: bytes) -> dict[str, Any]:
    """Tagger, email, date (ISO, as git's iso-strict), epoch and message of a tag object."""
    from datetime import datetime, timedelta, timezone

    head, _, body = raw.partition(b"\n\n")
    match = re.search(_TAGGER, head, re.MULTILINE)
    if match:
        name, email, epoch, sign, hours, minutes = match.groups()
        offset = (int(hours) * 60 + int(minutes)) * (-1 if sign == b"-" else 1)
        seconds = int(epoch)
        zone = timezone(timedelta(minutes=offset))
        created = datetime.fromtimestamp(seconds, zone).isoformat()
        author, mail = name.decode("utf-8", "replace"), email.decode("utf-8", "replace")
    else:  # very old tags have no tagger line
        seconds, created, author, mail = 0, "", "", ""
    return {
        "author": author,
        "email": mail,
        "created": created,
        "created_epoch": seconds,
        "message": message_text(body),
    }
