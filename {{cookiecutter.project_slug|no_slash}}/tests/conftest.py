"""Fixtures: the project's conf/ composed with Hydra's compose API, and the bundled data set."""

from pathlib import Path

import pandas as pd
import pytest
from omegaconf import DictConfig

from {{ cookiecutter.package_name }} import dataset
from {{ cookiecutter.package_name }}.config import load_config

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture
def cfg() -> DictConfig:
    return load_config(conf_dir=ROOT / "conf")


@pytest.fixture(scope="session")
def table() -> pd.DataFrame:
    return dataset.bundled_table()


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A scratch copy of conf/ with exported data, as the current directory (like a DVC stage)."""
    (tmp_path / "conf").mkdir()
    for source in (ROOT / "conf").rglob("*.yaml"):
        target = tmp_path / "conf" / source.relative_to(ROOT / "conf")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(source.read_text())
    monkeypatch.chdir(tmp_path)
    dataset.export(Path("data/raw/breast_cancer.csv"), Path("data/holdout/holdout.csv"))
    return tmp_path
