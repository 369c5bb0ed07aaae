"""The bump a new version gets, derived from its manifest against the greatest registered one.

MAJOR when the signature changed in a way that breaks callers; MINOR when the training data, the
hold-out set or the configuration changed; PATCH otherwise (same data and configuration, other
weights: code or environment). The reason names what changed.
"""

from dataclasses import dataclass

LEVELS = {"patch": 0, "minor": 1, "major": 2}


@dataclass(frozen=True)
class Bump:
    level: str  # "major", "minor", "patch", or "initial" for the first version
    reason: str


def flatten(value: object, prefix: str = "") -> dict[str, object]:
    """{"model": {"C": 1.0}} -> {"model.C": 1.0}: config keys as dotted paths."""
    if isinstance(value, dict):
        flat: dict[str, object] = {}
        for key, item in value.items():
            flat.update(flatten(item, f"{prefix}{key}."))
        return flat
    return {prefix.rstrip("."): value}


def config_changes(old: dict, new: dict) -> list[str]:
    before, after = flatten(old), flatten(new)
    return [
        f"{key} ({before.get(key, '<unset>')} -> {after.get(key, '<unset>')})"
        for key in sorted(before.keys() | after.keys())
        if before.get(key, "<unset>") != after.get(key, "<unset>")
    ]


def data_changes(old: dict, new: dict) -> list[str]:
    def md5s(manifest: dict) -> dict[str, str]:
        data = manifest["data"]
        found = {item["path"]: item["md5"] for item in data["inputs"]}
        if data.get("holdout"):
            found[data["holdout"]["path"]] = data["holdout"]["md5"]
        return found

    before, after = md5s(old), md5s(new)
    return [
        path for path in sorted(before.keys() | after.keys()) if before.get(path) != after.get(path)
    ]


def derive(previous: dict | None, current: dict) -> Bump:
    from weightline.domain.signature import (  # numpy and pandas: only when needed
        Signature,
        breaking_changes,
    )

    if previous is None:
        return Bump("initial", "first registered version")
    broken = breaking_changes(
        Signature.from_dict(previous["signature"]), Signature.from_dict(current["signature"])
    )
    if broken:
        return Bump("major", "signature changed incompatibly: " + "; ".join(broken))
    reasons = []
    if data := data_changes(previous, current):
        reasons.append("data changed: " + ", ".join(data))
    if config := config_changes(previous["config"], current["config"]):
        reasons.append("config changed: " + ", ".join(config))
    if reasons:
        return Bump("minor", "; ".join(reasons))
    return Bump("patch", "same data and config, different weights (code or environment changed)")
