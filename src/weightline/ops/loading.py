"""Loading a version for use: fetched, SHA-256-verified, and guarded by its signature.

`load_model("v1.2.0")` (or a stage, "production") is what serving code calls. It never reads the
working tree's weights: it fetches the version into .weightline/versions/, checks its SHA-256
against the manifest on every load, checks the signature in the safetensors header against the
manifest, and builds the model with the project's own loader (from [tool.weightline]).
"""

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from weightline.domain.signature import METADATA_KEY, Signature, validate
from weightline.domain.tags import RegisteredVersion
from weightline.errors import WeightlineError
from weightline.ops.register import resolve
from weightline.settings import Settings, entry_point, load


@dataclass
class LoadedModel:
    version: RegisteredVersion
    manifest: dict
    signature: Signature
    weights: Path
    model: object

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Predictions for a frame that matches the signature (refused, naming features, if not)."""
        features = validate(self.signature, frame, self.version.name)
        return np.asarray(self.model.predict_proba(features))


def header_signature(weights: Path) -> dict | None:
    from safetensors import safe_open

    with safe_open(str(weights), framework="numpy") as handle:
        metadata = handle.metadata() or {}
    if METADATA_KEY not in metadata:
        return None
    return json.loads(metadata[METADATA_KEY]).get("signature")


def load_version(settings: Settings, ref: str) -> LoadedModel:
    from weightline.ops.restore import get

    version = resolve(settings, ref)
    fetched = get(settings, version.name, settings.root / ".weightline" / "versions" / version.name)
    manifest = json.loads((fetched.weights.parent / "manifest.json").read_text())
    embedded = header_signature(fetched.weights)
    if embedded is not None and embedded != manifest["signature"]:
        raise WeightlineError(
            f"the signature inside {version.name}'s weights differs from its manifest: "
            f"run `weightline verify {version.version}`"
        )
    model = entry_point(settings, "loader")(fetched.weights)
    if not hasattr(model, "predict_proba"):
        raise WeightlineError(
            f"[tool.weightline] loader returned {type(model).__name__}, which has no predict_proba"
        )
    return LoadedModel(
        version, manifest, Signature.from_dict(manifest["signature"]), fetched.weights, model
    )


def load_model(ref: str, root: Path | None = None) -> LoadedModel:
    """A registered version (`v1.2.0`, `model@v1.2.0` or a stage), verified and ready to predict."""
    return load_version(load(root), ref)


def read_frame(path: Path) -> pd.DataFrame:
    """Rows to predict on or check for drift: CSV, Parquet or JSON (records), or a clear error."""
    if not path.is_file():
        raise WeightlineError(
            f"{path} does not exist or is not a file: give a .csv, .parquet or .json (records) file"
        )
    readers = {".csv": pd.read_csv, ".parquet": pd.read_parquet, ".json": _read_json}
    reader = readers.get(path.suffix.lower())
    if reader is None:
        raise WeightlineError(f"{path}: use a .csv, .parquet or .json (records) file")
    try:
        frame = reader(path)
    except UnicodeDecodeError as error:
        raise WeightlineError(
            f"{path} is not UTF-8 text ({error.reason}): re-save it as UTF-8"
        ) from None
    except (ValueError, ImportError, OSError) as error:
        raise WeightlineError(f"cannot read {path}: {str(error).splitlines()[0]}") from None
    if frame.empty:
        raise WeightlineError(f"{path} has no rows: give a file with data")
    return frame


def _read_json(path: Path) -> pd.DataFrame:
    records = json.loads(path.read_text())
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise ValueError("expected a JSON list of objects, one per row")
    return pd.DataFrame.from_records(records)
