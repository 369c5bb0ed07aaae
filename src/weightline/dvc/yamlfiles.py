"""DVC's YAML files (dvc.yaml, dvc.lock, `.dvc` files), each text parsed once.

Importing PyYAML costs about 25 ms, a quarter of a rollback by links (benchmarks/
restore_speed.py), and these texts repeat: a rollback reads the same few versions' files again
and again. What a text parsed to is kept as JSON in `.weightline/yaml/`, under the text's
CRC-32 and length, with the text itself: an entry is used only when its text is the one being
parsed, so a collision or an unreadable entry costs a parse, never another text's value. A text
whose value JSON cannot hold exactly (a date, a key that is not a string) is parsed every time.
Like the index beside it, the memo is a local cache, as trusted as the working tree.
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path

TYPE_CHECKING = False  # `typing` for the type checker only (see weightline.settings)
if TYPE_CHECKING:
    from typing import Any

MEMO = ".weightline/yaml"


class NotYAML(ValueError):
    """The text is not valid YAML (the parser's message)."""


def load(text: str, root: Path | None = None) -> Any:
    """The value of a YAML text, from the memo of the project at `root` when it has it."""
    if root is None:
        return _parse(text)
    memo = root / MEMO / f"{zlib.crc32(text.encode()):08x}-{len(text)}.json"
    try:
        kept = json.loads(memo.read_text())
        if isinstance(kept, dict) and kept.get("text") == text:
            return kept["value"]
    except (OSError, ValueError, KeyError):
        pass
    value = _parse(text)
    try:
        entry = json.dumps({"text": text, "value": value})
        if json.loads(entry)["value"] == value:  # JSON holds it exactly
            from weightline.store.files import write_atomic

            memo.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(memo, entry, sync=False)  # a lost entry costs one parse
    except (TypeError, ValueError, OSError):
        pass
    return value


def _parse(text: str) -> Any:
    import yaml

    try:
        return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as error:
        raise NotYAML(str(error)) from None
