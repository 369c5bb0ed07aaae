"""The few fields of a manifest that the index keeps, read without parsing the rest.

A manifest is tens of KiB, most of it the per-feature training summary and the signature, which
no query reads. Parsing every manifest whole was most of a cold index build (10,000 versions:
230 MiB of JSON, several seconds of json.loads; see benchmarks/registry_scale.py).

weightline writes manifests with `json.dumps(indent=2)`. In that layout each top-level key, and
only a top-level key, starts a line with exactly two spaces (`\\n  "key": `): nested lines are
indented further, and a JSON string cannot hold a raw newline. So the top-level values can be cut
apart at those lines and only the wanted ones parsed. Any other layout, a wanted value that does
not parse whole, or a repeated key, and the caller parses the manifest whole instead. The index
checks only what it keeps; `weightline verify` and every read of a whole manifest (show, get,
checkout) still parse all of it.
"""

from __future__ import annotations

import json
import re
from typing import Any

from weightline.domain.manifest import MAX_BYTES, REQUIRED, SCHEMA_VERSION
from weightline.errors import ConfigurationError, IntegrityError

# Bytes, so a blob is never decoded whole. This module is imported only to read manifests.
_KEY = re.compile(rb'\n  "((?:[^"\\\n]|\\.)*)": ')
_ROWS = re.compile(rb'\n    "rows": (\d+)[,\n]')  # a direct child of a top-level object
_DECODER = json.JSONDecoder()
KEPT = frozenset(
    ("schema_version", "artifact", "weights", "data", "config", "metrics", "run", "environment")
)
_KEPT_BYTES = {key.encode(): key for key in KEPT}


def fields(blob: bytes, where: str) -> dict[str, Any]:
    """The kept top-level values of a manifest (and `training_data.rows`), checked as
    domain.manifest.parse checks a whole one; raises IntegrityError or ConfigurationError."""
    found = split(blob)
    if found is None:
        from weightline.domain.manifest import parse

        manifest: dict[str, Any] = dict(parse(blob.decode("utf-8", "replace"), where))
        rows = (manifest.get("training_data") or {}).get("rows")
        kept = {key: manifest[key] for key in KEPT if key in manifest}
        return {**kept, "training_rows": rows if isinstance(rows, int) else None}
    values, keys, rows = found
    missing = [key for key in REQUIRED if key.encode() not in keys]
    if missing:
        raise IntegrityError(f"{where} lacks {', '.join(missing)}: not a weightline manifest")
    schema = values["schema_version"]
    if not isinstance(schema, int) or isinstance(schema, bool):
        raise IntegrityError(f"{where} has no integer schema_version: not a weightline manifest")
    if schema > SCHEMA_VERSION:
        raise ConfigurationError(
            f"{where} has schema version {schema}, newer than this weightline understands "
            f"({SCHEMA_VERSION}): upgrade weightline (`pip install -U weightline`)"
        )
    return {**values, "training_rows": rows}


def split(blob: bytes) -> tuple[dict[str, Any], set[bytes], int | None] | None:
    """(kept values, every top-level key, training rows) of a blob in json.dumps(indent=2)
    layout, or None when it is not in that layout (or anything about it is unexpected)."""
    end = len(blob)
    while end and blob[end - 1] in b" \t\r\n":  # no blob.rstrip(): that copies the blob
        end -= 1
    if len(blob) > MAX_BYTES or not blob.startswith(b'{\n  "') or blob[end - 2 : end] != b"\n}":
        return None
    matches = list(_KEY.finditer(blob, 0, end - 1))
    values: dict[str, Any] = {}
    keys: set[bytes] = set()
    rows: int | None = None
    try:
        for i, match in enumerate(matches):
            key = match[1]  # compared as bytes: decoding every key costs a cold build
            if key in keys or b"\\" in key:
                return None  # a repeated or escaped key: json.loads decides what it means
            keys.add(key)
            last = i + 1 == len(matches)
            stop = end - 2 if last else matches[i + 1].start()
            if key in _KEPT_BYTES:
                segment = blob[match.end() : stop]
                if not last:
                    if not segment.endswith(b","):
                        return None
                    segment = segment[:-1]
                text = segment.decode()
                value, parsed = _DECODER.raw_decode(text)  # decode() would search for more
                if parsed != len(text):
                    return None
                values[_KEPT_BYTES[key]] = value
            elif key == b"training_data":
                counted = _ROWS.search(blob, match.end(), stop)
                rows = int(counted[1]) if counted else None
    except (ValueError, RecursionError):
        return None
    if not matches or matches[0].start() != 1:
        return None
    return values, keys, rows
