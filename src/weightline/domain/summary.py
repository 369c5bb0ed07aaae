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


def describe(features: pd.DataFrame, labels: np.ndarray[Any, Any] | None = None) -> dict[str, Any]:
    summary: dict[str, Any] = {"rows": len(features), "features": {}}
    for name in features.columns:
        column = pd.to_numeric(features[name], errors="coerce").astype("float64")
        present = column.dropna()
        if present.empty:
            summary["features"][str(name)] = {"count": 0, "missing": len(column)}
            continue
        summary["features"][str(name)] = {
            "count": int(present.size),
            "missing": int(column.size - present.size),
            "mean": _number(present.mean()),
            "std": _number(present.std(ddof=0)),
            "min": _number(present.min()),
            "max": _number(present.max()),
            "quantiles": {f"{q:g}": _number(present.quantile(q)) for q in QUANTILES},
        }
    if labels is not None:
        values, counts = np.unique(np.asarray(labels), return_counts=True)
        summary["target"] = {
            "classes": {str(v): int(c) for v, c in zip(values.tolist(), counts, strict=True)},
            "balance": {
                str(v): round(c / counts.sum(), 6)
                for v, c in zip(values.tolist(), counts, strict=True)
            },
        }
    return summary
