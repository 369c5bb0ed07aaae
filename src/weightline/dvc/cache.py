"""Where the local DVC cache keeps an object, found without importing DVC when that is certain.

Importing DVC and opening a repository costs about half a second, as much as copying a GiB of
weights: `weightline get` of a version whose weights are in the local cache needs only the path
of one object. DVC 3 keeps it at `<project>/.dvc/cache/files/md5/<first 2>/<other 30>` unless a
configuration file moves the cache (`cache.dir`, or a named `cache.local`). If any of DVC's
configuration files (system, global, project, local) might say so (a `dir` or `local` key in a
`[cache]` section, or anything there we do not read plainly), we do not guess: the caller asks
DVC (dvc.remote.cache_path). Other cache options (`type`, `protected`, `shared`) move nothing.

`cache.type` (how DVC puts a cached file in the workspace) is read the same way, for a checkout
by links (dvc.link) and a get that links instead of copying: anything we do not read plainly
leaves it unknown, and the caller does what it would do without knowing it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

_SECTION = r"^\s*\[+(?P<name>.*?)\]+\s*([#;].*)?$"
_OPTION = r"^\s*(?P<key>[A-Za-z_][\w-]*)\s*=\s*(?!\"\"\"|\'\'\')\S"  # not a multi-line value
_IGNORED = r"^\s*([#;].*)?$"


def config_files(root: Path) -> list[Path]:
    """Every file DVC may read its configuration from for this project (system, global, project,
    local), as dvc.dirs finds them through platformdirs; a few more places only make us defer
    to DVC more often, never less."""
    explicit = [os.environ.get(v) for v in ("DVC_SYSTEM_CONFIG_DIR", "DVC_GLOBAL_CONFIG_DIR")]
    bases = [
        *os.environ.get("XDG_CONFIG_DIRS", "").split(os.pathsep),
        "/etc/xdg",
        os.environ.get("XDG_CONFIG_HOME", ""),
        str(Path.home() / ".config"),
        "/Library/Application Support",  # macOS
        str(Path.home() / "Library" / "Application Support"),
    ]
    files = [Path(d) / "config" for d in explicit if d]
    files += [Path(base) / "dvc" / "config" for base in bases if base]
    return [*files, root / ".dvc" / "config", root / ".dvc" / "config.local"]


def object_path(root: Path, md5: str) -> Path | None:
    """The local cache's path for a DVC 3 object, or None when the configuration could put the
    cache elsewhere (or this is not a plain DVC project): then ask DVC."""
    if not re.fullmatch(r"[0-9a-f]{32}", md5):
        return None
    objects = objects_dir(root)
    return None if objects is None else objects / md5[:2] / md5[2:]


def objects_dir(root: Path) -> Path | None:
    """`<project>/.dvc/cache/files/md5`, where DVC 3 keeps objects, or None when the
    configuration could put the cache elsewhere (or this is not a plain DVC project)."""
    texts = _config_texts(root)
    if texts is None or any(moves_the_cache(text) for text in texts):
        return None
    return root / ".dvc" / "cache" / "files" / "md5"


def _config_texts(root: Path) -> list[str] | None:
    """The text of every DVC configuration file there is, lowest level first; None if one
    cannot be read (or this is not a plain DVC project)."""
    if os.name != "posix" or not (root / ".dvc").is_dir():
        return None
    texts = []
    for config in config_files(root):
        try:
            texts.append(config.read_text(errors="replace"))
        except FileNotFoundError:
            continue
        except OSError:
            return None
    return texts


LINK_TYPES = ("reflink", "hardlink", "symlink", "copy")
DEFAULT_TYPES = ["reflink", "copy"]  # DVC's for a local cache when no file sets `cache.type`


def moves_the_cache(config: str) -> bool:
    """Whether a DVC configuration file might put the local cache somewhere else: a `dir` or
    `local` key in its cache section, or a line there that is not a plain `key = value`."""
    return cache_options(config) is None


def cache_options(config: str) -> dict[str, str] | None:
    """The options of a DVC configuration file's cache section (key -> raw value), or None when
    it might move the cache (`dir`, `local`) or holds a line that is not a plain `key = value`."""
    section = ""
    options: dict[str, str] = {}
    for line in config.splitlines():
        if header := re.match(_SECTION, line):
            section = header["name"].strip(" \t'\"").lower()
        elif section == "cache" and not re.match(_IGNORED, line):
            option = re.match(_OPTION, line)
            if option is None or option["key"].lower() in ("dir", "local"):
                return None
            options[option["key"]] = line.split("=", 1)[1].strip()
    return options


def cache_types(root: Path) -> list[str] | None:
    """DVC's `cache.type` for this project, in the order DVC tries them (the last configuration
    level that sets it wins; DVC's default `reflink,copy` when none does); None when a file
    could say something we do not read plainly (or the cache may be elsewhere)."""
    texts = _config_texts(root)
    if texts is None:
        return None
    found = DEFAULT_TYPES
    for text in texts:
        options = cache_options(text)
        if options is None:
            return None
        for key, value in options.items():
            if key.lower() == "type":
                types = parse_types(value) if key == "type" else None
                if types is None:
                    return None
                found = types
    return list(found)


def parse_types(value: str) -> list[str] | None:
    """`hardlink,symlink`, `"reflink,hardlink,symlink"`, `hardlink, symlink`: the list, or None
    for anything else (an inline comment, odd quoting, an unknown type)."""
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        value = value[1:-1]
    if any(c in value for c in "'\"#"):
        return None
    types = [item.strip() for item in value.split(",")]
    if not types or any(t not in LINK_TYPES for t in types):
        return None
    return types
