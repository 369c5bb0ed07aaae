"""A checkout by links without DVC: the workspace made to match the DVC outputs of the commit
just checked out by linking each from the local cache, as `dvc checkout` does with a link cache
type; and one object linked (or copied) where `weightline get` puts it.

Importing DVC and opening a repository costs about half a second, while a rollback with a link
cache type (`hardlink`, `symlink`, or `reflink,hardlink,symlink` on a filesystem without
reflinks) is a few links. We make them ourselves only when everything is plain, and otherwise
change nothing (or only links) and leave the checkout to DVC:

- the configuration is read plainly (dvc.cache) and `cache.type` lists a link type before
  `copy` (`reflink` is tried first where it is listed first, as DVC does, on Linux only);
- the outputs are those of one dvc.yaml at the root (no templating, `foreach`, `matrix` or
  `wdir`) with its dvc.lock, and of `.dvc` files of `dvc add` (not imports), all hashed with
  DVC 3's md5, tracked by git, with no .dvcignore rule;
- every object is in the local cache (directory listings and the files they list);
- every workspace file we would replace or remove is a link to a cache object.

Never losing data: a name we remove or replace is a symlink that resolves to a file among the
cache's objects, or a hard link to one of them (same device and inode as the object): its bytes
stay in the cache, whatever they are. A file that is anything else (a copy, an edit, a new
file) may be someone's work: DVC decides (it refuses to delete what the cache does not hold).
A file is replaced by a link made under a temporary name and renamed over it, so the workspace
never holds half of one; failing half way leaves only cache links, which DVC then completes.

DVC's own records stay true. Its state database maps a workspace path to a hash only while
the (inode, mtime, size) of what the path resolves to is the one recorded, which a link
changes: `dvc status` and `dvc checkout` then hash the file again, and find it up to date. To
spare them that read, each link gets the record DVC keeps for the cache object it points to (the
same inode, mtime and size, so the same check), copied when the state database is where DVC 3
keeps it and looks as expected (see share_state); otherwise nothing is written. DVC's list of
links it made (used to remove outputs a later commit drops) is not written: outputs the new
commit drops are removed here, when they are cache links, before DVC would need the list.
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
import subprocess
import sys
from collections.abc import Iterable
from contextlib import suppress
from pathlib import Path

from weightline.dvc import yamlfiles
from weightline.dvc.cache import cache_types, objects_dir

TYPE_CHECKING = False  # `typing` for the type checker only (see weightline.settings)
if TYPE_CHECKING:
    from typing import Any

Outputs = dict[str, str]  # path (POSIX, from the project root) -> md5 (".dir" for a directory)

_MD5 = re.compile(r"[0-9a-f]{32}")
_OUTPUT_MD5 = re.compile(r"[0-9a-f]{32}(\.dir)?")
# What DVC's link attempts treat as "this link type does not work here: try the next one".
UNSUPPORTED = {
    errno.EPERM,
    errno.ENOTSUP,
    errno.EOPNOTSUPP,
    errno.EXDEV,
    errno.ENOTTY,
    errno.ENOSYS,
    errno.EINVAL,
    errno.EAGAIN,
}
FICLONE = 0x40049409  # Linux: make a file share another's extents (a reflink)
_DVC_FILE_KEYS = {"outs", "meta", "desc"}
_OUT_KEYS = {"md5", "size", "nfiles", "hash", "path", "cache", "desc", "type", "labels", "meta"}
_OUT_KEYS |= {"remote", "push", "persist"}
_STAGE_UNUSUAL = {"foreach", "matrix", "do", "wdir"}
_PIPELINE_KEYS = {"stages", "artifacts", "plots", "metrics", "params", "datasets"}


class Unusual(Exception):
    """Something the checkout by links does not do: DVC will."""


def outputs(root: Path) -> Outputs | None:
    """Every cached DVC output of the working tree (as the commit says, the tree being clean),
    or None when anything is not plain."""
    try:
        return _outputs(root)
    except (Unusual, OSError, ValueError, UnicodeDecodeError):
        return None


def link_first(types: list[str] | None) -> bool:
    """Whether DVC puts files in the workspace by a link: a link type listed before `copy`
    (after `reflink`, which a filesystem without reflinks skips; we try it on Linux only)."""
    for kind in types or []:
        if kind == "reflink" and sys.platform == "linux":
            continue
        return kind in ("hardlink", "symlink")
    return False


def checkout(root: Path, before: Outputs) -> bool:
    """Make the workspace match the DVC outputs of the commit now checked out, by links, when
    everything is plain (see the module's documentation); False to leave it to DVC. `before`
    are the outputs of the commit checked out before (outputs it had that are gone now are
    removed when they are cache links, as DVC removes the links it made)."""
    types = cache_types(root)
    objects = objects_dir(root)
    after = outputs(root)
    if not link_first(types) or objects is None or after is None or types is None:
        return False
    plan = _Plan(root.resolve(), objects.resolve(), types)
    try:
        for path in sorted(before.keys() - after.keys()):
            plan.drop(path, before[path])
        for path, md5 in sorted(after.items()):
            plan.output(path, md5, before.get(path))
        plan.apply()
    except (Unusual, OSError, ValueError):
        return False
    share_state(root, plan.linked)
    return True


def place(source: Path, target: Path, types: list[str]) -> str | None:
    """Link `target` (a name that does not exist) to the cache object `source` by the first of
    `types` that works here; None when `copy` comes first (the caller copies)."""
    remaining = list(types)
    try:
        return _link(source, target, remaining)
    except Unusual:
        return None


def _link(source: Path, target: Path, types: list[str]) -> str:
    """Make `target` by the first type of `types` that works, dropping from `types` those
    that do not (as DVC does, for the rest of the checkout); Unusual at `copy`."""
    while types:
        kind = types[0]
        try:
            if kind == "hardlink":
                os.link(source, target)
            elif kind == "symlink":
                os.symlink(source, target)
            elif kind == "reflink" and sys.platform == "linux":
                _reflink(source, target)
            else:
                raise Unusual(kind)
            return kind
        except OSError as error:
            if error.errno not in UNSUPPORTED:
                raise
        del types[0]
    raise Unusual("no link type left")


def _reflink(source: Path, target: Path) -> None:
    import fcntl

    umask = os.umask(0)
    os.umask(umask)
    with open(source, "rb") as reader:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666 & ~umask)
        try:
            fcntl.ioctl(fd, FICLONE, reader.fileno())
        except OSError:
            os.close(fd)
            os.unlink(target)
            raise
        os.close(fd)


# ---- the outputs a commit records ----------------------------------------------------------


def _outputs(root: Path) -> Outputs:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--", "*.dvc", "*dvc.yaml", "*dvc.lock", "*.dvcignore"],
        cwd=root,
        capture_output=True,
    )
    if listed.returncode != 0:
        raise Unusual("git ls-files failed")
    found: Outputs = {}
    names = [os.fsdecode(name) for name in listed.stdout.split(b"\0") if name]
    for name in names:
        base = name.rsplit("/", 1)[-1]
        if base == ".dvcignore":
            if _has_rules((root / name).read_text()):
                raise Unusual(f"{name} has rules")
        elif base in ("dvc.yaml", "dvc.lock"):
            if name != base:
                raise Unusual(f"a pipeline in a subdirectory: {name}")
        elif base.endswith(".dvc"):
            _dvc_file(root, name, found)
    if "dvc.yaml" in names:
        _pipeline(root, "dvc.lock" in names, found)
    return found


def _has_rules(text: str) -> bool:
    return any(line.strip() and not line.lstrip().startswith("#") for line in text.splitlines())


def _yaml(text: str, root: Path, name: str) -> Any:
    try:
        return yamlfiles.load(text, root)
    except yamlfiles.NotYAML as error:
        raise Unusual(f"{name}: {error}") from None


def _clean(path: object, where: str) -> str:
    """A plain relative POSIX path inside the project (not in .git or .dvc), or Unusual."""
    if not isinstance(path, str) or not path or "\\" in path:
        raise Unusual(f"{where}: path {path!r}")
    parts = path.split("/")
    inside = parts[0] not in (".git", ".dvc")
    if path.startswith("/") or any(p in ("", ".", "..") for p in parts) or not inside:
        raise Unusual(f"{where}: path {path!r}")
    return path


def _add(found: Outputs, path: str, out: dict[str, Any], where: str) -> None:
    md5 = out.get("md5")
    if out.get("hash") != "md5" or not isinstance(md5, str) or not _OUTPUT_MD5.fullmatch(md5):
        raise Unusual(f"{where}: {path} is not hashed with DVC 3's md5")
    for other in found:
        if other == path or other.startswith(path + "/") or path.startswith(other + "/"):
            raise Unusual(f"{where}: {path} overlaps {other}")
    found[path] = md5


def _dvc_file(root: Path, name: str, found: Outputs) -> None:
    data = _yaml((root / name).read_text(), root, name)
    if not isinstance(data, dict) or set(data) - _DVC_FILE_KEYS:
        raise Unusual(f"{name} is not a plain `dvc add`")
    directory = name.rsplit("/", 1)[0] + "/" if "/" in name else ""
    for out in data.get("outs") or []:
        if not isinstance(out, dict) or set(out) - _OUT_KEYS:
            raise Unusual(f"{name}: an output we do not read")
        if out.get("cache", True) is True:
            path = _clean(directory + _clean(out.get("path"), name), name)
            _add(found, path, out, name)
        elif out.get("cache") is not False:
            raise Unusual(f"{name}: cache {out.get('cache')!r}")


def _pipeline(root: Path, locked: bool, found: Outputs) -> None:
    text = (root / "dvc.yaml").read_text()
    if "${" in text:
        raise Unusual("dvc.yaml is templated")
    spec = _yaml(text, root, "dvc.yaml")
    if not isinstance(spec, dict) or set(spec) - _PIPELINE_KEYS:
        raise Unusual("dvc.yaml has sections we do not read")
    cached: dict[str, dict[str, bool]] = {}
    for name, stage in (spec.get("stages") or {}).items():
        if not isinstance(stage, dict) or _STAGE_UNUSUAL & set(stage):
            raise Unusual(f"stage {name} is not plain")
        flags = cached.setdefault(str(name), {})
        for kind in ("outs", "metrics", "plots"):
            for item in stage.get(kind) or []:
                path, options = (item, {}) if isinstance(item, str) else _single(item, name)
                cache = options.get("cache", True)
                if path in flags or not isinstance(cache, bool):
                    raise Unusual(f"stage {name}: output {path!r}")
                flags[_clean(path, "dvc.yaml")] = cache
    lock: Any = {"schema": "2.0", "stages": {}}
    if locked:
        lock = _yaml((root / "dvc.lock").read_text(), root, "dvc.lock")
    if not isinstance(lock, dict) or lock.get("schema") != "2.0":
        raise Unusual("dvc.lock is not DVC 3's")
    recorded: dict[str, set[str]] = {}
    for name, stage in (lock.get("stages") or {}).items():
        if str(name) not in cached or not isinstance(stage, dict):
            raise Unusual(f"dvc.lock: stage {name} is not in dvc.yaml")
        for out in stage.get("outs") or []:
            recorded_path = out.get("path") if isinstance(out, dict) else None
            if not isinstance(recorded_path, str) or recorded_path not in cached[str(name)]:
                raise Unusual(f"dvc.lock: {name} records an output dvc.yaml does not name")
            recorded.setdefault(str(name), set()).add(recorded_path)
            if cached[str(name)][recorded_path]:
                _add(found, recorded_path, out, "dvc.lock")
    for name, flags in cached.items():
        if any(cache and path not in recorded.get(name, set()) for path, cache in flags.items()):
            raise Unusual(f"stage {name} has an output dvc.lock does not record")


def _single(item: object, stage: object) -> tuple[str, dict[str, Any]]:
    if isinstance(item, dict) and len(item) == 1:
        ((path, options),) = item.items()
        if isinstance(path, str) and isinstance(options, dict | None):
            return path, options or {}
    raise Unusual(f"stage {stage}: an output we do not read")


# ---- making the workspace match -------------------------------------------------------------


class _Plan:
    """What to remove and link, decided before anything changes (except a fallback to DVC
    that comes up while linking, say a full disk: then only links have changed)."""

    def __init__(self, root: Path, objects: Path, types: list[str]) -> None:
        self.root, self.objects, self.types = root, objects, list(types)
        self.remove: list[Path] = []
        self.links: list[tuple[Path, Path, bool]] = []  # object, destination, replacing
        self.prune: list[Path] = []  # directories left empty by a directory output's change
        self.linked: list[tuple[Path, Path]] = []  # (destination, object), for DVC's state

    def object(self, md5: str) -> Path:
        return self.objects / md5[:2] / md5[2:]

    def present(self, md5: str) -> Path:
        found = self.object(md5)
        try:
            if stat.S_ISREG(os.lstat(found).st_mode):
                return found
        except OSError:
            pass
        raise Unusual(f"object {md5} is not in the local cache")

    def listing(self, md5: str) -> dict[str, str]:
        """A directory object's files: relative path -> md5."""
        try:
            entries = json.loads(self.present(md5).read_text())
        except ValueError:
            raise Unusual(f"listing {md5} is not readable") from None
        found = {}
        for entry in entries if isinstance(entries, list) else [None]:
            if not isinstance(entry, dict) or set(entry) - {"md5", "relpath", "size"}:
                raise Unusual(f"listing {md5}: an entry we do not read")
            md5_of = entry.get("md5")
            if not isinstance(md5_of, str) or not _MD5.fullmatch(md5_of):
                raise Unusual(f"listing {md5}: {md5_of!r}")
            relpath = _clean(entry.get("relpath"), f"listing {md5}")
            if relpath in found:
                raise Unusual(f"listing {md5}: {relpath} twice")
            found[relpath] = md5_of
        return found

    def cache_object(
        self, path: Path, found: os.stat_result, candidates: Iterable[str | None]
    ) -> str | None:
        """The md5 of the cache object `path` is a link to (`found`: its lstat), else None."""
        if stat.S_ISLNK(found.st_mode):
            target = Path(os.path.realpath(path))
            try:
                relative = target.relative_to(self.objects)
            except ValueError:
                return None
            named = "".join(relative.parts)
            if len(relative.parts) == 2 and _MD5.fullmatch(named) and target.is_file():
                return named
            return None
        if stat.S_ISREG(found.st_mode) and found.st_nlink > 1:
            for md5 in candidates:
                if md5 is None or not _MD5.fullmatch(md5):
                    continue
                try:
                    there = os.stat(self.object(md5))
                except OSError:
                    continue
                if (there.st_dev, there.st_ino) == (found.st_dev, found.st_ino):
                    return md5
        return None

    def drop(self, path: str, md5: str) -> None:
        """An output of the previous commit that the new one does not have."""
        where = self.root / path
        found = _lstat(where)
        if found is None:
            return
        if md5.endswith(".dir") or self.cache_object(where, found, [md5]) is None:
            raise Unusual(f"{path} is gone from the commit and is not a cache link")
        self.remove.append(where)

    def output(self, path: str, md5: str, previous: str | None) -> None:
        where = self.root / path
        if md5.endswith(".dir"):
            old = previous if previous and previous.endswith(".dir") else None
            self.directory(where, self.listing(md5), self._old_listing(old))
            return
        source = self.present(md5)
        found = _lstat(where)
        if found is None:
            self.links.append((source, where, False))
            return
        current = self.cache_object(where, found, [md5, previous])
        if current is None:
            raise Unusual(f"{path} is not a link to the local cache")
        self.links.append((source, where, current != md5))

    def _old_listing(self, md5: str | None) -> dict[str, str]:
        if md5 is None:
            return {}
        try:
            return self.listing(md5)
        except Unusual:
            return {}  # only used to recognise hard links

    def directory(self, where: Path, wanted: dict[str, str], old: dict[str, str]) -> None:
        sources = {relpath: self.present(md5) for relpath, md5 in wanted.items()}
        found = _lstat(where)
        if found is not None and not stat.S_ISDIR(found.st_mode):
            raise Unusual(f"{where} is not a directory")
        seen = set()
        needed = {where} | {p for r in wanted for p in (where / r).parents if where in p.parents}
        if found is not None:
            for top, dirs, files in os.walk(where):
                for name in dirs:
                    if os.path.islink(os.path.join(top, name)):
                        raise Unusual(f"{top}/{name} is a symlink to a directory")
                for name in files:
                    path = Path(top) / name
                    relpath = path.relative_to(where).as_posix()
                    want = wanted.get(relpath)
                    state = os.lstat(path)
                    current = self.cache_object(path, state, [want, old.get(relpath)])
                    if current is None:
                        raise Unusual(f"{path} is not a link to the local cache")
                    if want is None:
                        self.remove.append(path)
                    else:
                        seen.add(relpath)
                        self.links.append((sources[relpath], path, current != want))
                if Path(top) not in needed:
                    self.prune.append(Path(top))
        for relpath in wanted.keys() - seen:
            self.links.append((sources[relpath], where / relpath, False))

    def apply(self) -> None:
        for path in self.remove:
            os.unlink(path)
        for path in sorted(self.prune, key=lambda p: len(p.parts), reverse=True):
            with suppress(OSError):  # not empty: DVC leaves it too
                path.rmdir()
        token = f"p{os.getpid()}.{os.urandom(4).hex()}"
        for source, where, replacing in self.links:
            if not replacing:
                if _lstat(where) is None:
                    where.parent.mkdir(parents=True, exist_ok=True)
                    _link(source, where, self.types)
                self.linked.append((where, source))
                continue
            temporary = where.with_name(f".{where.name}.{token}.link")
            _link(source, temporary, self.types)
            try:
                os.replace(temporary, where)
            except BaseException:
                temporary.unlink(missing_ok=True)
                raise
            self.linked.append((where, source))


def _lstat(path: Path) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None


# ---- DVC's state database ------------------------------------------------------------------


def share_state(root: Path, linked: list[tuple[Path, Path]]) -> None:
    """Give each link DVC's state record of the cache object it points to (see the module's
    documentation). DVC 3 keeps the records in `/var/tmp/dvc/repo/<token>/hashes/local/
    cache.db` on Linux, the token being an MD5 of the project's path, the mtime of
    `.dvc/tmp/btime`, the user and DVC's major version (dvc.repo.Repo.site_cache_dir); a record
    is the row keyed by a path. Anything else (another platform, `core.site_cache_dir` set, no
    database yet, a table that is not the one expected) writes nothing: DVC hashes once more."""
    if not linked or not sys.platform.startswith("linux"):
        return
    database = _state_database(root)
    if database is None:
        return
    pairs = []
    base, resolved = os.path.abspath(root), root.resolve()
    for where, source in linked:
        try:
            here, there = os.stat(where), os.stat(source)
        except OSError:
            continue
        if (here.st_dev, here.st_ino) != (there.st_dev, there.st_ino):
            continue  # a reflink: a file of its own, that DVC hashes itself
        try:  # DVC's keys: paths under the project's path as given, not resolved
            keys = [os.path.join(base, path.relative_to(resolved)) for path in (where, source)]
        except ValueError:
            continue  # the cache is elsewhere through a symlink: DVC's key is not known
        pairs.append((keys[0], keys[1]))
    if pairs:
        _copy_records(database, pairs)


def _state_database(root: Path) -> Path | None:
    import getpass
    import hashlib

    from weightline.dvc.cache import _config_texts

    texts = _config_texts(root)
    if texts is None or any("site_cache_dir" in text for text in texts):
        return None
    cache_dir = os.environ.get("DVC_SITE_CACHE_DIR") or "/var/tmp/dvc"
    try:
        btime = os.path.getmtime(root / ".dvc" / "tmp" / "btime")
        user = getpass.getuser()
    except (OSError, KeyError):
        return None
    token = str((os.path.abspath(root), None, btime, user, 3, 0))
    digest = hashlib.md5(token.encode(), usedforsecurity=False).hexdigest()
    database = Path(cache_dir) / "repo" / digest / "hashes" / "local" / "cache.db"
    return database if database.is_file() else None


def _copy_records(database: Path, pairs: list[tuple[str, str]]) -> None:
    import sqlite3

    copy = (
        "INSERT INTO Cache(key, raw, store_time, expire_time, access_time, tag, mode, filename,"
        " value) SELECT ?, 1, 0, null, 0, null, 1, null, value FROM Cache"
        " WHERE key = ? AND raw = 1 AND mode = 1"
        " ON CONFLICT(key, raw) DO UPDATE SET value = excluded.value"
    )
    try:
        connection = sqlite3.connect(database, timeout=1, isolation_level=None)
    except sqlite3.Error:
        return
    try:
        connection.execute("PRAGMA synchronous = NORMAL")  # as DVC's own connection has it
        with connection:
            connection.execute("BEGIN IMMEDIATE")
            connection.executemany(copy, pairs)
    except sqlite3.Error:
        pass  # busy, or not the table we know: DVC hashes once more
    finally:
        connection.close()
