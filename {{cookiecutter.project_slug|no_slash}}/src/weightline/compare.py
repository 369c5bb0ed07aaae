"""What changed between two versions: config, data, metrics, signature, drift, environment."""

from .bump import data_changes, flatten
from .drift import training_drift
from .signature import Signature, breaking_changes


def changes(old: dict, new: dict) -> list[dict]:
    """Every dotted key whose value differs, with both values."""
    before, after = flatten(old), flatten(new)
    return [
        {"key": key, "old": before.get(key), "new": after.get(key)}
        for key in sorted(before.keys() | after.keys())
        if before.get(key) != after.get(key)
    ]


def diff(old: dict, new: dict) -> dict:
    metrics = []
    for name in sorted(old["metrics"].keys() | new["metrics"].keys()):
        a, b = old["metrics"].get(name), new["metrics"].get(name)
        delta = (
            round(b - a, 6) if isinstance(a, int | float) and isinstance(b, int | float) else None
        )
        metrics.append({"name": name, "old": a, "new": b, "delta": delta})

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
        "metrics": metrics,
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
