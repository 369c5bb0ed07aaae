"""Fixtures: the project's conf/ composed with Hydra's compose API, and the data conf/ names.

The tests read whatever data and task conf/data/default.yaml configures, so they keep passing
when you bring your own data. Where that data is not on this machine (a fresh clone, CI without
the DVC remote), the tests that need it are skipped with the command that fetches it.
"""

{% if cookiecutter.framework == "pytorch" -%}
import re
{% endif -%}
import shutil
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


def _configured(key: str) -> Path:
    cfg = load_config(conf_dir=ROOT / "conf")
    path = ROOT / cfg.data[key]
    if not path.exists():
        pytest.skip(f"{cfg.data[key]} (data.{key}) is not here: `dvc pull` it to test on it")
    return path


@pytest.fixture(scope="session")
def table() -> pd.DataFrame:
    """The table `data.raw` names, read and checked as the pipeline does."""
    return dataset.read(_configured("raw"), load_config(conf_dir=ROOT / "conf").data)


@pytest.fixture(scope="session")
def holdout() -> pd.DataFrame:
    """The frozen hold-out set `data.holdout` names."""
    return dataset.read_table(_configured("holdout"), "data.holdout")


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cfg: DictConfig) -> Path:
    """A scratch copy of conf/ and of the configured data, as the current directory (like a DVC
    stage runs in)."""
    shutil.copytree(ROOT / "conf", tmp_path / "conf")
    for key in ("raw", "holdout"):
        source = _configured(key)
        (tmp_path / cfg.data[key]).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, tmp_path / cfg.data[key])
{%- if cookiecutter.framework == "pytorch" %}
    # One epoch: these tests check what the stages write, not how well the model learns.
    train = tmp_path / "conf/train/default.yaml"
    train.write_text(re.sub(r"(?m)^epochs: \d+", "epochs: 1", train.read_text()))
{%- endif %}
    monkeypatch.chdir(tmp_path)
    return tmp_path
