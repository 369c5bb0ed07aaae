"""What changed between two versions: config, data, metrics, signature, drift, environment."""

from weightline.domain.bump import data_changes, flatten
from weightline.domain.drift import training_drift
from weightline.domain.signature import Signature, breaking_changes


def changes(old: dict, new: dict) -> list[dict]:
    """Every dotted key whose value differs, with both values."""
    before, after = flatten(old), flatten(new)
    return [
        {"key": key, "old": before.get(key), "new": after.get(key)}
        for key in sorted(before.keys() | after.keys())
        if before.get(key) != after.get(key)
    ]


def metric_changes(old: dict, new: dict) -> list[dict]:
    """Every metric of either run with both values and, where both are numbers, the change."""
    rows = []
    for name in sorted(old.keys() | new.keys()):
        a, b = old.get(name), new.get(name)
        numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (a, b))
        rows.append(
            {"name": name, "old": a, "new": b, "delta": round(b - a, 9) if numbers else None}
        )
    return rows


def diff(old: dict, new: dict) -> dict:
    """What `weightline diff` shows: two versions' manifests compared section by section."""

    def md5(manifest: dict, path: str) -> str | None:
        data = manifest["data"]
        items = [*data["inputs"], *([data["holdout"]] if data.get("holdout") else [])]
        return next((i["md5"] for i in items if i["path"] == path), None)

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
