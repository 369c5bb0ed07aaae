"""The configured data: readable, split reproducibly, the hold-out set kept out of training, and
every kind of unusable table refused with the conf key or the column to fix."""

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }} import dataset, holdout
from {{ cookiecutter.package_name }}.config import ConfigError, Task


def test_the_holdout_set_never_reaches_training(table, holdout, cfg):
    pool = dataset.without(table, holdout)
    assert len(pool) < len(table)
    assert pool.merge(holdout, how="inner").empty, "a hold-out row is also a training row"


def test_splits_are_reproducible_and_keep_the_class_balance(table, cfg):
    rest, part = dataset.split(table, cfg.data, 0.25, seed=3)
    again, _ = dataset.split(table, cfg.data, 0.25, seed=3)
    pd.testing.assert_frame_equal(rest, again)
    assert len(part) == pytest.approx(len(table) * 0.25, abs=1)
    if cfg.data.task != Task.regression:
        shares = [s[cfg.data.target].value_counts(normalize=True) for s in (rest, part)]
        assert (shares[0] - shares[1]).abs().max() < 0.05


def test_holdout_is_cut_once(workdir: Path, cfg):
    before = Path(cfg.data.holdout).read_bytes()
    with pytest.raises(ConfigError, match="REPLACE=1"):
        holdout.main([])
    holdout.main(["--replace"])  # the same data and seed: the same set
    assert Path(cfg.data.holdout).read_bytes() == before


def refused(table: pd.DataFrame, cfg, match: str, tmp_path: Path) -> None:
    path = tmp_path / "table.csv"
    table.to_csv(path, index=False)
    with pytest.raises(ConfigError, match=match):
        dataset.read(path, cfg.data)


def test_unusable_tables_are_refused_naming_the_fix(table, cfg, tmp_path: Path):
    features, _ = dataset.features_and_target(table, cfg.data)
    first = features.columns[0]
    name = re.escape(str(first))
    refused(table.drop(columns=[cfg.data.target]), cfg, r"set `data\.target`", tmp_path)
    refused(table.assign(**{first: "text"}), cfg, rf"{name} \(.*data\.drop", tmp_path)
    gappy = table.astype({first: "float64"})
    gappy.loc[gappy.index[3], first] = np.nan
    refused(gappy, cfg, rf"missing or infinite values: {name} \(1 rows\)", tmp_path)
    if cfg.data.task == Task.regression:
        refused(table.assign(**{cfg.data.target: "label"}), cfg, "task: ", tmp_path)
    else:
        fractions = np.linspace(0.01, 0.99, len(table))
        refused(table.assign(**{cfg.data.target: fractions}), cfg, "task: regression", tmp_path)
    with pytest.raises(ConfigError, match=r"`data\.raw`"):
        dataset.read(tmp_path / "missing.csv", cfg.data)
