"""Where the local DVC cache keeps an object, found without importing DVC when that is certain.

Importing DVC and opening a repository costs about half a second, as much as copying a GiB of
weights: `weightline get` of a version whose weights are in the local cache needs only the path
of one object. DVC 3 keeps it at `<project>/.dvc/cache/files/md5/<first 2>/<other 30>` unless a
configuration file moves the cache (`cache.dir`, or a named `cache.local`). If any of DVC's
configuration files (system, global, project, local) might say so (a `dir` or `local` key in a
`[cache]` section, or anything there we do not read plainly), we do not guess: the caller asks
DVC (dvc.remote.cache_path). Other cache options (`type`, `protected`, `shared`) move nothing.
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
    if os.name != "posix" or not (root / ".dvc").is_dir() or not re.fullmatch(r"[0-9a-f]{32}", md5):
        return None
    for config in config_files(root):
        try:
            text = config.read_text(errors="replace")
        except FileNotFoundError:
            continue
        except OSError:
            return None
        if moves_the_cache(text):
            return None
    return root / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]


def moves_the_cache(config: str) -> bool:
    """Whether a DVC configuration file might put the local cache somewhere else: a `dir` or
    `local` key in its cache section, or a line there that is not a plain `key = value`."""
    section = ""
    for line in config.splitlines():
        if header := re.match(_SECTION, line):
            section = header["name"].strip(" \t'\"").lower()
        elif section == "cache" and not re.match(_IGNORED, line):
            option = re.match(_OPTION, line)
            if option is None or option["key"].lower() in ("dir", "local"):
                return True
    return False
