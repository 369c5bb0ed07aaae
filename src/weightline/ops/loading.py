"""Loading a version for use: fetched, SHA-256-verified, and guarded by its signature.

`load_model("v1.2.0")` (or a stage, "production") is what serving code calls. It never reads the
working tree's weights: it fetches the version into .weightline/versions/, checks its SHA-256
against the manifest on every load, checks the signature in the safetensors header against the
manifest, and builds the model with the project's own loader (from [tool.weightline]).

The loader contract. `[tool.weightline] loader = "package.module:function"` names a function that
takes the path of a weights file and returns a model object with

- `predict(features: np.ndarray) -> np.ndarray`: `features` is one row per example, columns in
  the signature's input order. Regression: one value per row. Classification: one class number
  per row, 0..k-1, in the order of the signature's `classes`.
- for classification, optionally `predict_proba(features) -> np.ndarray` of shape (rows, k):
  each class's probability, in that same order. (A classifier may also have only
  `predict_proba`; the label is then the most probable class. Binary models of the first
  releases return one column, the probability of class 1; that is still read.)

`LoadedModel.predict(frame)` checks the frame against the signature and answers with a DataFrame
on the frame's index: `label` (the class name) and, when the model has `predict_proba`, one
`probability_<class>` column per class; for regression, `prediction`.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from weightline.domain.signature import METADATA_KEY, Signature
from weightline.domain.tags import RegisteredVersion
from weightline.errors import ConfigurationError, IntegrityError, NotFound, Refused
from weightline.ops.lookup import resolve
from weightline.settings import Settings, entry_point, load


@dataclass
class LoadedModel:
    version: RegisteredVersion
    manifest: dict[str, Any]
    signature: Signature
    weights: Path
    model: Any

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Predictions for a frame that matches the signature (refused, naming features, if not)."""
        return predictions(self.signature, self.model, frame, self.version.name)


def predictions(signature: Signature, model: Any, frame: pd.DataFrame, where: str) -> pd.DataFrame:
    """What `model` (a loader's object) answers for `frame`, checked in and named out."""
    features = signature.check(frame, where)
    rows = len(features)
    if not signature.is_classifier:
        values = _answer(model.predict(features), (rows,), "predict", where)
        return pd.DataFrame({"prediction": values.astype(np.float64)}, index=frame.index)
    probabilities = None
    if hasattr(model, "predict_proba"):
        probabilities = np.asarray(model.predict_proba(features), dtype=np.float64)
        if probabilities.ndim == 1 and len(signature.classes) == 2:  # P(class 1), first releases
            probabilities = np.column_stack([1.0 - probabilities, probabilities])
        _answer(probabilities, (rows, len(signature.classes)), "predict_proba", where)
    if hasattr(model, "predict"):
        numbers = _class_numbers(model.predict(features), rows, where)
    else:
        assert probabilities is not None  # load_version checked it has one of the two
        numbers = np.argmax(probabilities, axis=1)
    answer: dict[str, Any] = {"label": signature.class_names(numbers)}
    if probabilities is not None:
        for i, name in enumerate(signature.classes):
            answer[f"probability_{name}"] = probabilities[:, i]
    return pd.DataFrame(answer, index=frame.index)


def _answer(values: Any, shape: tuple[int, ...], method: str, where: str) -> np.ndarray:
    array = np.asarray(values)
    if array.shape != shape:
        raise ConfigurationError(
            f"{where}: the loader's model.{method} returned shape {list(array.shape)} for "
            f"{shape[0]} rows, expected {list(shape)} (see the loader contract in the manual)"
        )
    return array


def _class_numbers(values: Any, rows: int, where: str) -> np.ndarray:
    """predict's answer as class numbers; a label or a fraction is a broken loader contract."""
    array = _answer(values, (rows,), "predict", where)
    if array.dtype.kind in "iu":
        return array.astype(np.int64)
    if array.dtype.kind == "f" and np.array_equal(array, np.round(array)):
        return array.astype(np.int64)
    raise ConfigurationError(
        f"{where}: the loader's model.predict returned {array[:3].tolist()}...: for "
        "classification it must return class numbers 0..k-1 in the order of the signature's "
        "classes, not labels or probabilities"
    )


def header_signature(weights: Path) -> dict[str, Any] | None:
    """The signature in the weights' header as written (a dict, compared with the manifest's)."""
    from weightline.ops.weights import read_metadata

    metadata = read_metadata(weights)
    if METADATA_KEY not in metadata:
        return None
    found: dict[str, Any] | None = json.loads(metadata[METADATA_KEY]).get("signature")
    return found


def load_version(settings: Settings, ref: str) -> LoadedModel:
    from weightline.ops.restore import get

    version = resolve(settings, ref)
    private = settings.root / ".weightline" / "versions" / version.name
    try:
        fetched = get(settings, version, private)
    except Refused as error:  # only weightline writes here: another copy is a corrupt one
        raise IntegrityError(
            f"{error} (weightline's own copy in {private} was changed after it was verified: "
            "remove that directory to fetch the version again)"
        ) from error
    manifest = json.loads((fetched.weights.parent / "manifest.json").read_text())
    embedded = header_signature(fetched.weights)
    if embedded is not None and embedded != manifest["signature"]:
        raise IntegrityError(
            f"the signature inside {version.name}'s weights differs from its manifest: "
            f"run `weightline verify {version.version}`"
        )
    signature = Signature.from_dict(manifest["signature"])
    model = entry_point(settings, "loader")(fetched.weights)
    methods = ("predict", "predict_proba") if signature.is_classifier else ("predict",)
    if not any(hasattr(model, method) for method in methods):
        raise ConfigurationError(
            f"[tool.weightline] loader returned {type(model).__name__}, which has no "
            f"{' or '.join(methods)}: see the loader contract in the manual"
        )
    return LoadedModel(version, manifest, signature, fetched.weights, model)


def load_model(ref: str, root: Path | None = None) -> LoadedModel:
    """A registered version (`v1.2.0`, `model@v1.2.0` or a stage), verified and ready to predict."""
    return load_version(load(root), ref)


def read_frame(path: Path) -> pd.DataFrame:
    """Rows to predict on or check for drift: CSV, Parquet or JSON (records), or a clear error."""
    if not path.is_file():
        raise NotFound(
            f"{path} does not exist or is not a file: give a .csv, .parquet or .json (records) file"
        )
    readers: dict[str, Callable[[Path], pd.DataFrame]] = {
        ".csv": pd.read_csv,
        ".parquet": pd.read_parquet,
        ".json": _read_json,
    }
    reader = readers.get(path.suffix.lower())
    if reader is None:
        raise Refused(f"{path}: use a .csv, .parquet or .json (records) file")
    try:
        frame = reader(path)
    except UnicodeDecodeError as error:
        raise Refused(f"{path} is not UTF-8 text ({error.reason}): re-save it as UTF-8") from error
    except RecursionError:
        raise Refused(f"{path} is nested too deeply: give one object per row") from None
    except (ValueError, ImportError, OSError) as error:
        raise Refused(f"cannot read {path}: {str(error).splitlines()[0]}") from error
    if frame.empty:
        raise Refused(f"{path} has no rows: give a file with data")
    return frame


def _read_json(path: Path) -> pd.DataFrame:
    records = json.loads(path.read_text())
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise ValueError("expected a JSON list of objects, one per row")
    return pd.DataFrame.from_records(records)
