"""What dvc.lock recorded: MD5, size and file count of every stage's dependencies and outputs."""

from __future__ import annotations

from pathlib import Path

from weightline.domain.record import Record
from weightline.dvc import yamlfiles
from weightline.errors import IntegrityError, NotFound

TYPE_CHECKING = False  # `typing` for the type checker only (see weightline.settings)
if TYPE_CHECKING:
    from typing import Any

    Lock = dict[str, Any]  # dvc.lock as YAML gives it: {"stages": {name: {deps, outs, ...}}}
else:
    Lock = dict


class Entry(Record):
    FIELDS = ("path", "md5", "size", "nfiles")
    __slots__ = FIELDS
    path: str
    md5: str
    size: int
    nfiles: int | None

    def __init__(self, path: str, md5: str, size: int, nfiles: int | None) -> None:
        self.path, self.md5, self.size, self.nfiles = path, md5, size, nfiles


def parse(text: str, where: str = "dvc.lock", root: Path | None = None) -> Lock:
    """dvc.lock's text parsed (once per text, in the memo of the project at `root`)."""
    try:
        lock = yamlfiles.load(text, root)
    except yamlfiles.NotYAML as error:
        raise IntegrityError(f"{where} is not valid YAML ({error}): run `dvc repro`") from None
    if not isinstance(lock, dict) or not isinstance(lock.get("stages"), dict):
        raise IntegrityError(f"{where} has no stages: run `dvc repro`")
    return lock


def read(root: Path) -> Lock:
    path = root / "dvc.lock"
    if not path.exists():
        raise NotFound("there is no dvc.lock yet: run `dvc repro` first")
    return parse(path.read_text(), root=root)


def _entries(lock: Lock, kind: str, skip: str | None = None) -> dict[str, Entry]:
    found = {}
    for stage in lock["stages"].values():
        if skip and any(item["path"] == skip for item in stage.get("outs") or []):
            continue
        for item in stage.get(kind) or []:
            if "md5" in item:
                found[item["path"]] = Entry(
                    item["path"], item["md5"], int(item.get("size", 0)), item.get("nfiles")
                )
    return found


def outputs(lock: Lock) -> dict[str, Entry]:
    """Every stage output, by path."""
    return _entries(lock, "outs")


def dependencies(lock: Lock, skip_stage_of: str | None = None) -> dict[str, Entry]:
    """Every stage dependency, by path, leaving out the stage that writes `skip_stage_of`."""
    return _entries(lock, "deps", skip_stage_of)


def output(lock: Lock, path: str, where: str = "dvc.lock") -> Entry:
    entry = outputs(lock).get(path)
    if entry is None:
        raise NotFound(f"{where} records no output {path!r}: run `dvc repro`")
    return entry
