"""What changed between two versions: config, data, metrics, signature, drift, environment."""

from typing import Any, TypedDict

from weightline.domain.bump import data_changes, flatten
from weightline.domain.drift import DriftReport, training_drift
from weightline.domain.manifest import Manifest, data_items
from weightline.domain.signature import Signature, breaking_changes


class Change(TypedDict):
    key: str
    old: object
    new: object


class MetricChange(TypedDict):
    name: str
    old: object
    new: object
    delta: float | None


class DataChange(TypedDict):
    path: str
    old: str | None
    new: str | None


class SignatureChange(TypedDict):
    changed: bool
    breaking: list[str]


class WeightsChange(TypedDict):
    old: str
    new: str
    same: bool


class Diff(TypedDict):
    config: list[Change]
    data: list[DataChange]
    metrics: list[MetricChange]
    signature: SignatureChange
    drift: DriftReport
    weights: WeightsChange


def changes(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """Every dotted key whose value differs, with both values."""
    before, after = flatten(old), flatten(new)
    return [
        {"key": key, "old": before.get(key), "new": after.get(key)}
        for key in sorted(before.keys() | after.keys())
        if before.get(key) != after.get(key)
    ]


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def metric_changes(old: dict[str, Any], new: dict[str, Any]) -> list[MetricChange]:
    """Every metric of either run with both values and, where both are numbers, the change."""
    rows: list[MetricChange] = []
    for name in sorted(old.keys() | new.keys()):
        a, b = _number(old.get(name)), _number(new.get(name))
        delta = round(b - a, 9) if a is not None and b is not None else None
        rows.append({"name": name, "old": old.get(name), "new": new.get(name), "delta": delta})
    return rows


def diff(old: Manifest, new: Manifest) -> Diff:
    """What `weightline diff` shows: two versions' manifests compared section by section."""

    def md5(manifest: Manifest, path: str) -> str | None:
        return next((i["md5"] for i in data_items(manifest) if i["path"] == path), None)

    old_signature = Signature.from_dict(old["signature"])
    new_signature = Signature.from_dict(new["signature"])
    return {
        "config": changes(old["config"], new["config"]),
        "data": [
            {"path": path, "old": md5(old, path), "new": md5(new, path)}
            for path in data_changes(old, new)
        ],
        "metrics": metric_changes(old["metrics"], new["metrics"]),
        "signature": {
            "changed": old_signature != new_signature,
            "breaking": breaking_changes(old_signature, new_signature),
        },
        "drift": training_drift(old, new),  # also holds the environment's changes
        "weights": {
            "old": old["weights"]["sha256"],
            "new": new["weights"]["sha256"],
            "same": old["weights"]["sha256"] == new["weights"]["sha256"],
        },
    }
