"""Drift that knows its sample size: no false alarms on small same-distribution samples, real
moves caught, rows and uncertainty printed, nonsense thresholds refused."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from weightline.cli import main
from weightline.domain import drift, summary
from weightline.errors import EXIT_CODES, Refused

from .microproject import Micro


def population(rows: int, rng: np.random.Generator) -> pd.DataFrame:
    """Twelve features of the shapes real tables have: skewed, heavy-tailed, discrete, gappy."""
    return pd.DataFrame(
        {
            "normal": rng.normal(5, 2, rows),
            "lognormal": rng.lognormal(0, 1, rows),
            "uniform": rng.uniform(0, 1, rows),
            "poisson": rng.poisson(3, rows).astype(float),
            "binary": (rng.random(rows) < 0.3).astype(float),
            "exponential": rng.exponential(2, rows),
            "heavy": rng.standard_t(3, rows),
            "gappy": np.where(rng.random(rows) < 0.1, np.nan, rng.normal(0, 1, rows)),
            "bimodal": np.where(
                rng.random(rows) < 0.5, rng.normal(-2, 1, rows), rng.normal(2, 1, rows)
            ),
            "integers": rng.integers(0, 10, rows).astype(float),
            "geometric": rng.geometric(0.4, rows).astype(float),
            "large": rng.normal(1e6, 1e5, rows),
        }
    )


@pytest.fixture(scope="module")
def manifest() -> dict[str, object]:
    return {"training_data": summary.describe(population(500, np.random.default_rng(7)))}


def test_same_distribution_samples_of_36_rows_rarely_raise_an_alarm(manifest):
    rng = np.random.default_rng(2024)
    alarms = [drift.sample_drift(manifest, population(36, rng))["moved"] for _ in range(200)]
    flagged = [moved for moved in alarms if moved]
    assert len(flagged) <= 10, f"{len(flagged)} false alarms in 200: {flagged}"


def test_one_standard_deviation_on_100_rows_is_caught(manifest):
    rng = np.random.default_rng(5)
    for _ in range(20):
        sample = population(100, rng)
        sample["normal"] += 2.0  # the feature's standard deviation
        report = drift.sample_drift(manifest, sample)
        assert "normal" in report["moved"]
        assert report["features"][0]["feature"] == "normal"
        assert report["features"][0]["p_value"] < 0.001


def test_the_training_data_against_itself_moves_nothing():
    training = population(300, np.random.default_rng(1))
    report = drift.sample_drift({"training_data": summary.describe(training)}, training)
    assert report["moved"] == []
    assert max(r["ks"] for r in report["features"]) < 0.02


def test_rows_and_uncertainty_are_printed(manifest):
    sample = population(36, np.random.default_rng(3))
    sample["normal"] += 4.0
    report = drift.sample_drift(manifest, sample)
    text = "\n".join(drift.sample_lines(report))
    assert text.startswith("36 sample rows vs 500 training rows: 1 of 12 features moved")
    assert "PSI > 0.2 and beyond sampling noise, p < 0.05" in text
    moved = next(line for line in text.splitlines() if "MOVED" in line)
    assert moved.startswith("  MOVED normal: PSI ") and "at 36 vs 500 rows" in moved
    row = report["features"][0]
    assert row["new_rows"] == 36 and row["old_rows"] == 500
    assert 0 < row["noise"] < row["ks"] <= 1  # the gap, beyond what noise reaches at 36 rows
    assert set(row) == set(drift.FeatureDrift.__annotations__)
    json.dumps(report)  # a JSON document as it is


def test_a_missing_rate_moves_only_when_significant(manifest):
    rng = np.random.default_rng(9)
    sample = population(200, rng)
    sample.loc[: len(sample) // 2, "uniform"] = np.nan  # half the values gone
    report = drift.sample_drift(manifest, sample)
    assert report["moved"] == ["uniform"]
    uniform = report["features"][0]
    assert uniform["missing_p"] < 0.001 and uniform["new_missing"] > 0.45
    few = population(36, rng)
    few["gappy"] = few["gappy"].fillna(0.0)
    few.loc[:5, "gappy"] = np.nan  # 6 of 36, against about 10% in training: within noise
    gappy = next(
        r for r in drift.sample_drift(manifest, few)["features"] if r["feature"] == "gappy"
    )
    assert gappy["new_missing"] - gappy["old_missing"] > 0.05 and not gappy["moved"]
    assert gappy["missing_p"] > 0.05


@pytest.mark.parametrize("threshold", [math.nan, math.inf, -math.inf, -0.1])
def test_non_finite_or_negative_thresholds_are_refused(manifest, threshold):
    sample = population(36, np.random.default_rng(0))
    with pytest.raises(Refused, match="PSI threshold must be a finite number"):
        drift.sample_drift(manifest, sample, threshold)
    with pytest.raises(Refused, match="PSI threshold must be a finite number"):
        drift.compare_summaries(manifest["training_data"], manifest["training_data"], threshold)


@pytest.mark.parametrize("alpha", [math.nan, 0.0, 1.0, 2.0])
def test_a_significance_level_outside_0_1_is_refused(manifest, alpha):
    with pytest.raises(Refused, match="significance level must be a number between 0 and 1"):
        drift.sample_drift(manifest, population(36, np.random.default_rng(0)), alpha=alpha)


# ---- between two versions' training data (weightline diff) ---------------------------------


@pytest.mark.parametrize(("old", "new"), [(36, 36), (100, 120), (5000, 5000)])
def test_two_summaries_of_one_distribution_rarely_move(old, new):
    rng = np.random.default_rng(old + new)
    flagged = [
        moved
        for _ in range(20)
        if (
            moved := drift.compare_summaries(
                summary.describe(population(old, rng)), summary.describe(population(new, rng))
            )["moved"]
        )
    ]
    assert len(flagged) <= 1, flagged  # 5% of 20 (seeded); discrete features too at 5000 rows


def test_a_shift_between_two_summaries_is_caught_and_explained():
    rng = np.random.default_rng(4)
    before, after = population(400, rng), population(400, rng)
    after["bimodal"] += 1.5
    report = drift.compare_summaries(summary.describe(before), summary.describe(after))
    assert report["moved"] == ["bimodal"]
    lines = drift.drift_lines(report)
    assert lines[0] == (
        "training data: 400 -> 400 rows; 1 of 12 features moved "
        "(PSI > 0.2 and beyond sampling noise, p < 0.05)"
    )
    assert lines[1].startswith("  MOVED bimodal: PSI ") and "at 400 vs 400 rows" in lines[1]
    assert "environment" not in report  # only summaries compared: nothing said about it


# ---- the statistics themselves --------------------------------------------------------------


def test_the_kolmogorov_tail_and_its_inverse():
    assert drift.kolmogorov_q(1.3581) == pytest.approx(0.05, abs=1e-3)
    assert drift.kolmogorov_q(0.1) == 1.0 and drift.kolmogorov_q(5) < 1e-12
    noise = drift.ks_noise(36, None, 0.05)
    assert drift.ks_p_value(noise, 36, None) == pytest.approx(0.05, abs=1e-4)
    assert drift.ks_noise(36, 500, 0.05) > drift.ks_noise(36, None, 0.05)  # both sides noisy


def test_fisher_and_holm_against_known_values():
    # Fisher's tea-tasting table (3 of 4 against 1 of 4): p = 0.4857
    assert drift.fisher_p_value(3, 4, 1, 4) == pytest.approx(0.485714, abs=1e-6)
    assert drift.fisher_p_value(0, 10, 0, 10) is None  # nothing missing: nothing to test
    assert drift.holm([0.01, None, 0.04, 0.03]) == [0.03, None, 0.06, 0.06]


def test_ties_read_as_the_range_they_allow():
    points = drift.cdf_points({"min": 0.0, "max": 1.0, "quantiles": {"0.5": 0.0, "0.9": 1.0}})
    assert drift.band(points, 0.0, inclusive=True) == (0.5, 0.9)  # 50% to 90% are zeros
    assert drift.band(points, 0.0, inclusive=False) == (0.0, 0.0)
    assert drift.band(points, 1.0, inclusive=True) == (1.0, 1.0)


# ---- the command line -----------------------------------------------------------------------


def test_the_command_refuses_a_nan_threshold_and_checks_only_significant_moves(
    inside, released: Micro, capsys, tmp_path
):
    inside(released)
    rows = pd.read_csv(released.path / "data/raw/train.csv").drop(columns=["target"])
    few = tmp_path / "few.csv"
    rows.sample(36, random_state=1).to_csv(few, index=False)
    try:  # refused by the command line (a usage error) or by the library (Refused)
        code = main(["drift", "v1.0.0", "--data", str(few), "--threshold", "nan"])
    except SystemExit as exit:
        code = exit.code
    err = capsys.readouterr().err
    assert code in (2, EXIT_CODES["Refused"]) and "nan" in err and "finite number" in err
    assert main(["drift", "v1.0.0", "--data", str(few), "--check"]) == 0
    out = capsys.readouterr().out
    assert "36 sample rows vs 80 training rows: 0 of 3 features moved" in out
    moved = tmp_path / "moved.csv"
    rows.assign(beta=rows["beta"] + 3).to_csv(moved, index=False)
    assert main(["drift", "v1.0.0", "--data", str(moved), "--check"]) == EXIT_CODES["Refused"]
    assert "beta" in capsys.readouterr().err
    assert main(["drift", "v1.0.0", "--data", str(moved), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["moved"] == ["beta"] and report["alpha"] == 0.05
    assert report["features"][0]["p_value"] < 0.05
