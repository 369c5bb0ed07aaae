"""The exported data: deterministic, a hold-out set disjoint from training, strict reading."""

from pathlib import Path

import pandas as pd
import pytest

from {{ cookiecutter.package_name }} import dataset


def test_export_is_deterministic_and_disjoint(tmp_path: Path, table: pd.DataFrame):
    first, second = tmp_path / "a", tmp_path / "b"
    for where in (first, second):
        dataset.export(where / "raw.csv", where / "holdout.csv")
    assert (first / "raw.csv").read_bytes() == (second / "raw.csv").read_bytes()
    assert (first / "holdout.csv").read_bytes() == (second / "holdout.csv").read_bytes()

    raw, holdout = pd.read_csv(first / "raw.csv"), pd.read_csv(first / "holdout.csv")
    assert len(raw) + len(holdout) == len(table)
    assert len(holdout) == round(len(table) * dataset.HOLDOUT_FRACTION)
    assert raw.merge(holdout, how="inner").empty, "a hold-out row is also a training row"


def test_split_is_stratified_and_reproducible(table: pd.DataFrame):
    train, val = dataset.split(table, "target", 0.25, seed=3)
    again, _ = dataset.split(table, "target", 0.25, seed=3)
    pd.testing.assert_frame_equal(train, again)
    assert abs(train["target"].mean() - val["target"].mean()) < 0.02


def test_read_refuses_bad_tables(tmp_path: Path, table: pd.DataFrame):
    path = tmp_path / "t.csv"
    table.drop(columns=["target"]).to_csv(path, index=False)
    with pytest.raises(ValueError, match="'target'"):
        dataset.read(path)
    gappy = table.copy()
    gappy.loc[3, "mean_radius"] = None
    gappy.to_csv(path, index=False)
    with pytest.raises(ValueError, match="mean_radius"):
        dataset.read(path)
    with pytest.raises(FileNotFoundError, match="dvc pull"):
        dataset.read(tmp_path / "missing.csv")
