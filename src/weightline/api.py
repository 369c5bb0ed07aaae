"""The public Python API: one function per verb, what the CLI, CI scripts and serving code call.

Every function finds the project from `root` (default: the git work tree around the current
directory), reads the registry through the index, and raises a subclass of `WeightlineError`
(see weightline.errors) on anything expected to go wrong. Imports are deferred so that
`import weightline.api` stays cheap.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

    from weightline.domain.tags import RegisteredVersion
    from weightline.ops.loading import LoadedModel
    from weightline.settings import Settings


def settings(root: Path | None = None) -> Settings:
    """The project's settings: `[tool.weightline]` in pyproject.toml and dvc.yaml's artifact."""
    from weightline.settings import load

    return load(root)


def resolve(ref: str, root: Path | None = None) -> RegisteredVersion:
    """The exact version a reference names: `v1.2.0`, `model@v1.2.0`, a stage held now
    (`production`) or a stage tag (`model#production#7`). "latest" is never one."""
    from weightline.ops.register import resolve as resolve_ref

    return resolve_ref(settings(root), ref)


def load_model(ref: str, root: Path | None = None) -> LoadedModel:
    """A version fetched (SHA-256-verified), loaded by the project's loader, guarded by its
    signature: what serving code calls."""
    from weightline.ops.loading import load_version

    return load_version(settings(root), ref)


def predict(ref: str, frame: pd.DataFrame, root: Path | None = None) -> pd.DataFrame:
    """Predictions of a version for rows that match its signature."""
    return load_model(ref, root).predict(frame)


def stage_history(root: Path | None = None) -> list[dict[str, object]]:
    """Every stage event, oldest first: number, stage, action, assigned, version (vX.Y.Z), tag,
    at (ISO time), at_epoch, by, reason, from_version, gate (JSON text or None)."""
    from weightline.store.index import open_index

    with open_index(settings(root)) as index:
        return index.rows("SELECT * FROM stage_events ORDER BY number, tag")


def stage_holders(root: Path | None = None) -> dict[str, str]:
    """stage -> the version (`vX.Y.Z`) that holds it now; stages nobody holds are absent."""
    from weightline.store.index import open_index

    with open_index(settings(root)) as index:
        return dict(index.conn.execute("SELECT stage, version FROM stages ORDER BY stage"))
