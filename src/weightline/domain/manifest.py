"""The manifest's schema: what every version records, and reading one back safely.

models/manifest.json is written by the pipeline's last stage (ops/manifest.py); this module only
knows its shape, so that everything reading a manifest (the index, the gate, verify) agrees.
The shape is a protocol between projects and weightline releases: fields are only ever added
(optional, with `.get`), and a change that old readers could not take raises SCHEMA_VERSION.

JSON documents are typed as TypedDicts (they are JSON on disk and in tags; a dataclass would
need converting both ways); `parse` checks the keys every reader relies on.
"""

from __future__ import annotations

import json

from weightline.errors import ConfigurationError, IntegrityError

SCHEMA_VERSION = 1
REQUIRED = ("schema_version", "artifact", "weights", "data", "config", "metrics", "signature")
MAX_BYTES = 64 * 1024 * 1024  # a manifest with a big training summary is tens of KiB


# The schema, for the type checker; at run time a manifest is the dict json.loads gives, and
# importing `typing` (5 ms) would be a twentieth of a rollback (benchmarks/restore_speed.py).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NotRequired, TypedDict

    class Weights(TypedDict):
        path: str
        sha256: str
        md5: str
        size: int
        format: str

    class DataItem(TypedDict):
        path: str
        md5: str
        size: int
        nfiles: int
        rows: int | None

    class Data(TypedDict):
        inputs: list[DataItem]
        holdout: DataItem | None

    class Lock(TypedDict):
        path: str
        sha256: str | None  # None when the project has no lock file yet

    class Manifest(TypedDict):
        schema_version: int
        artifact: str
        weights: Weights
        data: Data
        config: dict[str, Any]
        metrics: dict[str, Any]
        signature: dict[str, Any]
        training_data: NotRequired[dict[str, Any]]
        code: NotRequired[dict[str, Any]]
        environment: NotRequired[dict[str, Any]]
        run: NotRequired[dict[str, Any]]
        weightline_version: NotRequired[str]  # since 1.0: the release that wrote it
        lock: NotRequired[Lock]  # since 1.0: the environment's lock file and its SHA-256
else:
    Weights = DataItem = Data = Lock = Manifest = dict


def parse(text: str, where: str) -> Manifest:
    """A manifest from JSON text, refusing a truncated, foreign or hostile file with a message."""
    if len(text) > MAX_BYTES:
        raise IntegrityError(f"{where} is larger than {MAX_BYTES} bytes: not a weightline manifest")
    try:
        manifest: Manifest = json.loads(text)
    except json.JSONDecodeError as error:
        raise IntegrityError(f"{where} is not valid JSON ({error}): is it truncated?") from None
    except RecursionError:
        raise IntegrityError(f"{where} is nested too deeply: not a weightline manifest") from None
    missing = [key for key in REQUIRED if not isinstance(manifest, dict) or key not in manifest]
    if missing:
        raise IntegrityError(f"{where} lacks {', '.join(missing)}: not a weightline manifest")
    if not isinstance(manifest["schema_version"], int):
        raise IntegrityError(f"{where} has no integer schema_version: not a weightline manifest")
    if manifest["schema_version"] > SCHEMA_VERSION:
        raise ConfigurationError(
            f"{where} has schema version {manifest['schema_version']}, newer than this "
            f"weightline understands ({SCHEMA_VERSION}): upgrade weightline "
            "(`pip install -U weightline`)"
        )
    return manifest


def data_items(manifest: Manifest) -> list[DataItem]:
    """Every data input and the hold-out set, in that order."""
    data = manifest["data"]
    holdout = data.get("holdout")
    return [*data["inputs"], *([holdout] if holdout else [])]
