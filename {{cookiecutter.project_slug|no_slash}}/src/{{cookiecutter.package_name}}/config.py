"""The configuration: conf/ composed by Hydra, then checked against the schema below.

conf/ is the only source of configuration. Every pipeline stage calls `load_config()` itself
(Hydra's compose API), and dvc.yaml lists the conf files as the stages' params, so both `dvc repro`
after an edit and `dvc exp run -S 'conf/model/<file>.yaml:<key>=<value>'` train with exactly what
conf/ says. The schema turns a wrong value (say `seed: abc`, or `task: multi`) into an error that
names the key, before any work starts.
"""

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from hydra import compose, initialize_config_dir
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException
from weightline import WeightlineError

CONF_DIR = Path("conf")
DATA_CONF = "conf/data/default.yaml"  # named in error messages: where the data settings live


class ConfigError(Exception):
    """Something to fix in conf/ or in the data it names; the message says what and where."""


class Task(Enum):
    binary = "binary"  # one of two classes
    multiclass = "multiclass"  # one of three or more classes
    regression = "regression"  # a number


@dataclass
class DataConfig:
    raw: str  # the table to learn from: .csv or .parquet
    target: str  # the column to predict
    task: Task
    holdout: str  # the frozen hold-out set, split off `raw` once by `make holdout`
    holdout_fraction: float
    prepared: str
    val_fraction: float
    drop: list[str] = field(default_factory=list)  # columns that are not features

{% if cookiecutter.framework == "sklearn" %}
@dataclass
class ModelConfig:
    name: str  # logreg (classification) or ridge (regression)
    C: float = 1.0  # logreg: inverse regularisation strength, smaller is simpler
    class_weight: str | None = None  # logreg: null, or "balanced" for rare classes
    alpha: float = 1.0  # ridge: regularisation strength, larger is simpler


@dataclass
class TrainConfig:
    max_iter: int
    tol: float
{% else %}
@dataclass
class ModelConfig:
    name: str
    hidden_sizes: list[int] = field(default_factory=list)
    dropout: float = 0.0


@dataclass
class TrainConfig:
    epochs: int
    batch_size: int
    lr: float
    weight_decay: float
{% endif %}

@dataclass
class Config:
    seed: int
    weights: str
    data: DataConfig
    model: ModelConfig
    train: TrainConfig


def load_config(overrides: Sequence[str] = (), conf_dir: Path = CONF_DIR) -> DictConfig:
    """Compose conf/config.yaml with optional Hydra overrides and validate it against `Config`."""
    conf_dir = conf_dir.resolve()
    if not (conf_dir / "config.yaml").exists():
        raise ConfigError(
            f"no config.yaml in {conf_dir}: run this from the project root (where dvc.yaml is)"
        )
    with initialize_config_dir(config_dir=str(conf_dir), version_base=None):
        composed = compose(config_name="config", overrides=list(overrides))
    try:
        return OmegaConf.merge(OmegaConf.structured(Config), composed)
    except OmegaConfBaseException as error:
        key = getattr(error, "full_key", None) or "?"
        reason = str(error).splitlines()[0]
        raise ConfigError(
            f"invalid configuration at {key!r}: {reason}; fix it in {conf_dir}"
        ) from None


def to_yaml(cfg: DictConfig) -> str:
    """The resolved configuration as YAML, as saved next to the weights."""
    return OmegaConf.to_yaml(cfg, resolve=True, sort_keys=True)


def run_stage(main: Callable[[], None]) -> None:
    """Run a command; a problem in conf/ or data/ ends it with its message, not a traceback."""
    try:
        main()
    except (ConfigError, WeightlineError) as error:
        sys.exit(f"{Path(sys.argv[0]).stem}: {error}")
