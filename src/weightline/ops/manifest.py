"""The manifest: everything known about one trained model, written by the pipeline's last stage.

models/manifest.json is git-tracked and deterministic: the same run inputs give the same bytes.
Hashes come from dvc.lock (DVC's MD5 and size) plus our SHA-256 of the weights; the rest from the
files the training stage wrote next to the weights and from the metrics of the evaluate stage.
"""

import json
from functools import partial
from pathlib import Path
from typing import Any

import yaml

from weightline._version import __version__
from weightline.domain.manifest import SCHEMA_VERSION, DataItem, Manifest
from weightline.dvc import lock as dvclock
from weightline.errors import ConfigurationError, IntegrityError, NotFound
from weightline.settings import Settings
from weightline.store.digest import Hashes, sha256_file
from weightline.store.files import LocalCache, write_atomic


def local_cache(settings: Settings) -> LocalCache:
    return LocalCache(settings.root / ".weightline" / "cache.json")


def _read_json(path: Path, produced_by: str) -> dict[str, Any]:
    try:
        found: dict[str, Any] = json.loads(path.read_text())
        return found
    except FileNotFoundError:
        raise NotFound(f"{path} is missing: it is written by {produced_by}") from None
    except json.JSONDecodeError as error:
        raise IntegrityError(f"{path} is not valid JSON ({error}): re-run {produced_by}") from None


def count_rows(path: Path) -> int | None:
    """Data rows in a CSV file or a directory of them (header lines excluded); None otherwise."""
    files = sorted(path.rglob("*.csv")) if path.is_dir() else [path]
    if not files or any(f.suffix != ".csv" for f in files):
        return None
    rows = 0
    for file in files:
        with file.open("rb") as handle:
            lines = sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
        rows += max(lines - 1, 0)
    return rows


def data_entries(settings: Settings, lock: dvclock.Lock) -> tuple[list[DataItem], DataItem | None]:
    """The DVC-tracked data the pipeline read (training inputs, and the hold-out set apart)."""
    produced = dvclock.outputs(lock)
    cache = local_cache(settings)
    inputs: list[DataItem] = []
    holdout: DataItem | None = None
    # The manifest stage's own entry is skipped: until it finishes, it holds the previous run.
    for path, entry in sorted(dvclock.dependencies(lock, settings.manifest).items()):
        managed = path in produced or settings.path(f"{path}.dvc").exists()
        if not managed or path == settings.weights or path.startswith(settings.models_dir + "/"):
            continue
        rows = cache.get(f"rows:{entry.md5}:{entry.size}", partial(count_rows, settings.path(path)))
        item: DataItem = {
            "path": path,
            "md5": entry.md5,
            "size": entry.size,
            "nfiles": entry.nfiles or 1,
            "rows": rows if isinstance(rows, int) else None,
        }
        if path == settings.holdout:
            holdout = item
        else:
            inputs.append(item)
    return inputs, holdout


def weights_sha256(settings: Settings, entry: dvclock.Entry) -> str:
    """SHA-256 of the weights, read only if this file was not hashed before (see digest.Hashes).

    The hash is recorded with the file's identity, so the post-commit hook's registration (and a
    later checkout of these weights) trusts it without reading the weights again.
    """
    return Hashes(settings.root).sha256(settings.path(settings.weights), entry.md5, entry.size)


def lock_sha256(settings: Settings) -> str | None:
    """SHA-256 of the environment's lock file, or None while the project has none."""
    path = settings.path(settings.lock)
    return sha256_file(path) if path.is_file() else None


def build(settings: Settings) -> Manifest:
    lock = dvclock.read(settings.root)
    weights = dvclock.output(lock, settings.weights)
    inputs, holdout = data_entries(settings, lock)
    if holdout is None:
        raise ConfigurationError(
            f"no stage depends on the hold-out set {settings.holdout!r}: "
            "fix `holdout` in [tool.weightline] or the evaluate stage's deps"
        )
    training = _read_json(settings.path(settings.training), "the train stage (Run.finish)")
    try:
        config = yaml.safe_load(settings.path(settings.config).read_text())
    except (OSError, yaml.YAMLError) as error:
        raise NotFound(f"cannot read {settings.config} ({error}): run `dvc repro`") from None
    return {
        "schema_version": SCHEMA_VERSION,
        "artifact": settings.artifact,
        "weights": {
            "path": settings.weights,
            "sha256": weights_sha256(settings, weights),
            "md5": weights.md5,
            "size": weights.size,
            "format": "safetensors",
        },
        "data": {"inputs": inputs, "holdout": holdout},
        "config": config,
        "metrics": _read_json(settings.path(settings.metrics), "the evaluate stage"),
        "signature": _read_json(settings.path(settings.signature), "the train stage"),
        "training_data": training["training_data"],
        "code": training["code"],
        "environment": training["environment"],
        "run": training["run"],
        "weightline_version": __version__,
        "lock": {"path": settings.lock, "sha256": lock_sha256(settings)},
    }


def write(settings: Settings) -> Manifest:
    manifest = build(settings)
    write_atomic(settings.path(settings.manifest), json.dumps(manifest, indent=2) + "\n")
    return manifest
