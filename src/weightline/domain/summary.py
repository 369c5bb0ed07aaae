"""A per-feature summary of the training data, small enough for the manifest.

Deciles let a later comparison estimate how much a feature's distribution moved (PSI) without the
data itself; the class balance shows a shift in what the model was taught.
"""

from typing import Any, SupportsFloat

import numpy as np
import pandas as pd

QUANTILES = (0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)


def _number(value: SupportsFloat) -> float | None:
    number = float(value)
    return None if not np.isfinite(number) else round(number, 6)


def _feature(values: pd.Series) -> dict[str, Any]:
    """count, missing, mean, std, min, max and quantiles of one column (as numbers)."""
    column = pd.to_numeric(values, errors="coerce").astype("float64")
    present = column.dropna()
    if present.empty:
        return {"count": 0, "missing": len(column)}
    return {
        "count": int(present.size),
        "missing": int(column.size - present.size),
        "mean": _number(present.mean()),
        "std": _number(present.std(ddof=0)),
        "min": _number(present.min()),
        "max": _number(present.max()),
        "quantiles": {f"{q:g}": _number(present.quantile(q)) for q in QUANTILES},
    }


def describe(
    features: pd.DataFrame, labels: np.ndarray[Any, Any] | None = None, task: str = "classification"
) -> dict[str, Any]:
    """Each feature's distribution, and the target's: class shares, or for a regression task the
    distribution of the number to predict."""
    summary: dict[str, Any] = {"rows": len(features), "features": {}}
    for name in features.columns:
        summary["features"][str(name)] = _feature(features[name])
    if labels is not None and task == "regression":
        # A number to predict: summarised like a feature (drift compares its distribution), never
        # as one "class" per distinct value.
        summary["target"] = {"distribution": _feature(pd.Series(np.asarray(labels, dtype=float)))}
    elif labels is not None:
        values, counts = np.unique(np.asarray(labels), return_counts=True)
        summary["target"] = {
            "classes": {str(v): int(c) for v, c in zip(values.tolist(), counts, strict=True)},
            "balance": {
                str(v): round(c / counts.sum(), 6)
                for v, c in zip(values.tolist(), counts, strict=True)
            },
        }
    return summary
