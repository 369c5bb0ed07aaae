"""One version, loaded, verified, warmed and ready to answer: what a swap puts in place.

A `Served` is built completely (weights fetched and SHA-256-checked by `api.load_model`, a
validator compiled from the signature, one warm-up prediction made and checked) before any request
can reach it, and never changes afterwards: a swap replaces the whole object, so no request ever
sees a half-loaded model.

Predictions are what `LoadedModel.predict(frame)`, the library's one predict, answers. Building
and re-checking a DataFrame costs milliseconds per single-row request, so the server computes the
same answer from the array it already checked against the same signature (`payload`), calling the
model as `LoadedModel.predict` does (`direct_rows`). The warm-up proves, on real rows, that both
give exactly the same answer; if they differ in anything, every request goes through
`LoadedModel.predict` itself.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd

from weightline import logs
from weightline.domain.signature import Signature
from weightline.errors import WeightlineError
from weightline.serve.payload import Batch, InputSchema

log = logs.get(__name__)

WARM_QUANTILES = ("0.1", "0.5", "0.9")


class Loaded(Protocol):
    """What `weightline.api.load_model` returns (weightline.ops.loading.LoadedModel)."""

    @property
    def version(self) -> Any: ...  # RegisteredVersion: .name, .version, .commit

    @property
    def manifest(self) -> dict[str, Any]: ...

    @property
    def signature(self) -> Signature: ...

    @property
    def model(self) -> Any: ...

    def predict(self, frame: pd.DataFrame) -> Any: ...


class WarmUpFailed(WeightlineError):
    """A version that loaded but could not answer: it is never swapped in."""


@dataclass(frozen=True)
class Served:
    """A version ready to answer requests; immutable once built."""

    artifact: str
    version: str  # vX.Y.Z
    commit: str
    sha256: str
    loaded: Loaded
    schema: InputSchema
    outputs: tuple[str, ...]
    array_path: bool  # predict_proba on the checked array gives what LoadedModel.predict gives
    loaded_at: float = field(default_factory=time.time)
    stage_event: dict[str, Any] | None = None

    @property
    def tag(self) -> str:
        return f"{self.artifact}@{self.version}"

    def predict(self, batch: Batch) -> list[dict[str, Any]]:
        """One output row (name -> value) per input row."""
        if self.array_path:
            features = model_input(self.schema, batch)
            return direct_rows(self.loaded.signature, self.loaded.model, features, self.outputs)
        return output_rows(self.loaded.predict(frame(self.schema, batch)), self.outputs)

    def describe(self) -> dict[str, Any]:
        """What /version says about this version."""
        return {
            "artifact": self.artifact,
            "version": self.version,
            "tag": self.tag,
            "commit": self.commit,
            "weights_sha256": self.sha256,
            "loaded_at": _iso(self.loaded_at),
            "stage_event": self.stage_event,
        }


def prepare(
    artifact: str, version: str, commit: str, loaded: Loaded, stage_event: dict[str, Any] | None
) -> Served:
    """Build and warm a `Served` from a loaded version; WarmUpFailed if it cannot answer."""
    signature = loaded.signature
    tag = f"{artifact}@{version}"
    schema = InputSchema(signature, tag)
    outputs = tuple(column.name for column in signature.outputs)
    batch = warm_up_batch(schema, loaded.manifest)
    try:
        official = output_values(loaded.predict(frame(schema, batch)))
    except Exception as error:
        raise WarmUpFailed(
            f"{tag} loaded but its warm-up prediction failed ({type(error).__name__}: {error}): "
            "check its loader with `weightline predict`"
        ) from error
    rows = output_rows(official, outputs)
    if len(rows) != batch.rows or not all(_finite(row) for row in rows):
        raise WarmUpFailed(
            f"{tag}'s warm-up prediction gave {rows[:3]} for {batch.rows} rows: "
            "expected one finite answer per row"
        )
    served = Served(
        artifact=artifact,
        version=version,
        commit=commit,
        sha256=str(loaded.manifest["weights"]["sha256"]),
        loaded=loaded,
        schema=schema,
        outputs=outputs,
        array_path=_array_path_agrees(schema, loaded, batch, official),
        stage_event=stage_event,
    )
    log.info(
        "%s ready (weights sha256 %s…, %s)",
        tag,
        served.sha256[:16],
        "checked-array path" if served.array_path else "LoadedModel.predict path",
    )
    return served


def _array_path_agrees(schema: InputSchema, loaded: Loaded, batch: Batch, official: Any) -> bool:
    """Whether `direct_rows` gives exactly what `LoadedModel.predict` gave for the warm-up rows
    (any difference, or any doubt, and every request goes through `LoadedModel.predict`)."""
    if any(np.dtype(c.dtype).kind not in "fiub" for c in schema.signature.inputs):
        return False
    if any(c.nullable and np.dtype(c.dtype).kind != "f" for c in schema.signature.inputs):
        return False
    outputs = tuple(column.name for column in schema.signature.outputs)
    try:
        direct = direct_rows(loaded.signature, loaded.model, model_input(schema, batch), outputs)
    except Exception:
        return False
    return direct == output_rows(official, outputs)


def direct_rows(
    signature: Signature, model: Any, features: np.ndarray, outputs: tuple[str, ...]
) -> list[dict[str, Any]]:
    """What `LoadedModel.predict` answers, computed from the already-checked input array.

    Two forms: the first releases' (predict_proba's array, columns named by the signature's
    outputs), and the task-aware one (`label` plus `probability_<class>`, or `prediction`).
    Only used after the warm-up showed it equals `LoadedModel.predict` on real rows.
    """
    task = getattr(signature, "task", None)
    if task is None:
        return output_rows(np.asarray(model.predict_proba(features)), outputs)
    if task == "regression":
        values = np.asarray(model.predict(features), dtype=np.float64).reshape(-1)
        return [{"prediction": value} for value in values.tolist()]
    classes = list(signature.classes)
    probabilities = None
    if hasattr(model, "predict_proba"):
        probabilities = np.asarray(model.predict_proba(features), dtype=np.float64)
        if probabilities.ndim == 1 and len(classes) == 2:
            probabilities = np.column_stack([1.0 - probabilities, probabilities])
    if hasattr(model, "predict"):
        numbers = np.asarray(model.predict(features)).astype(np.int64)
    else:
        assert probabilities is not None, "a classifier has predict or predict_proba"
        numbers = np.argmax(probabilities, axis=1)
    labels = [_plain(label) for label in signature.class_names(numbers)]
    if probabilities is None:
        return [{"label": label} for label in labels]
    names = [f"probability_{c}" for c in classes]
    return [
        {"label": label, **dict(zip(names, row, strict=True))}
        for label, row in zip(labels, probabilities.tolist(), strict=True)
    ]


def model_input(schema: InputSchema, batch: Batch) -> np.ndarray:
    """The array `signature.validate` would return for the same rows: signature order, each
    column in its signature dtype."""
    return np.column_stack(
        [
            np.asarray(batch.columns[c.name], dtype=np.dtype(c.dtype))
            for c in schema.signature.inputs
        ]
    )


def frame(schema: InputSchema, batch: Batch) -> pd.DataFrame:
    """The rows as the DataFrame `LoadedModel.predict` takes, each column in its signature dtype."""
    data: dict[str, Any] = {}
    for column in schema.signature.inputs:
        values = batch.columns[column.name]
        dtype = np.dtype(column.dtype)
        if column.nullable and any(value is None for value in values):
            # As a CSV reader would give them: NaN in a float column, None elsewhere.
            missing = np.nan if dtype.kind in "fiu" else None
            filled = [missing if value is None else value for value in values]
            data[column.name] = np.asarray(
                filled, dtype="float64" if dtype.kind in "fiu" else object
            )
        else:
            data[column.name] = np.asarray(values, dtype=dtype)
    return pd.DataFrame(data)


def output_values(result: Any) -> Any:
    """A DataFrame stays one; anything else becomes an array."""
    return result if isinstance(result, pd.DataFrame) else np.asarray(result)


def output_rows(result: Any, names: tuple[str, ...]) -> list[dict[str, Any]]:
    """Predictions as JSON-ready rows: a DataFrame's columns (label, probability_<class>,
    prediction), or an array's columns named by the signature's outputs."""
    if isinstance(result, pd.DataFrame):
        records: list[dict[Any, Any]] = result.to_dict(orient="records")
        return [{str(k): _plain(v) for k, v in row.items()} for row in records]
    values = np.asarray(result)
    values = values.reshape(len(values), -1)
    width = values.shape[1]
    columns = list(names) if len(names) == width else [f"output_{i}" for i in range(width)]
    return [dict(zip(columns, row, strict=True)) for row in values.tolist()]


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _finite(row: dict[str, Any]) -> bool:
    return all(not isinstance(v, float) or math.isfinite(v) for v in row.values())


def warm_up_batch(schema: InputSchema, manifest: dict[str, Any]) -> Batch:
    """Realistic rows for the warm-up: each feature's training quantiles when the manifest
    summarises the training data, else zeros."""
    summary = (manifest.get("training_data") or {}).get("features") or {}
    columns: dict[str, list[Any]] = {}
    for column in schema.signature.inputs:
        kind = np.dtype(column.dtype).kind
        quantiles = (summary.get(column.name) or {}).get("quantiles") or {}
        values: list[Any] = []
        for q in WARM_QUANTILES:
            value = quantiles.get(q, 0)
            if kind == "f":
                values.append(float(value))
            elif kind in "iu":
                values.append(round(value))
            elif kind == "b":
                values.append(bool(round(value)))
            else:
                values.append(str(value))
        columns[column.name] = values
    text = json.dumps(columns, sort_keys=True).encode()
    from hashlib import sha256

    return Batch(columns, len(WARM_QUANTILES), sha256(text).hexdigest())


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))
