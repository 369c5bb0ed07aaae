"""Drift over summaries others wrote: text where numbers belong gives no distance, no crash."""

from weightline.domain.drift import clean_summary, training_drift

GOOD = {
    "rows": 100,
    "features": {
        "alpha": {
            "count": 100,
            "missing": 0,
            "mean": 0.0,
            "std": 1.0,
            "min": -3.0,
            "max": 3.0,
            "quantiles": {"0.1": -1.28, "0.5": 0.0, "0.9": 1.28},
        }
    },
    "target": {"balance": {"0": 0.5, "1": 0.5}},
}
HOSTILE = {
    "rows": "many",
    "features": {
        "alpha": {"count": "100", "mean": "high", "min": None, "max": [], "quantiles": "all"},
        "beta": "not a feature",
    },
    "target": {"balance": {"0": "half", "1": 0.5}},
}


def test_text_where_numbers_belong_gives_no_distance():
    report = training_drift({"training_data": GOOD}, {"training_data": HOSTILE})
    (alpha,) = report["features"]
    assert alpha["feature"] == "alpha" and alpha["psi"] is None and not alpha["moved"]
    assert report["rows"] == {"old": 100, "new": None}
    assert clean_summary("not a summary") == {}
    assert clean_summary(HOSTILE)["features"]["alpha"] == {"count": 0, "missing": 0}
