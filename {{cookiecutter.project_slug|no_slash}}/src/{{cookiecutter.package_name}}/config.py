"""The configuration: conf/ composed by Hydra, then checked against the schema below.

conf/ is the only source of configuration. Every pipeline stage calls `load_config()` itself
(Hydra's compose API), and dvc.yaml lists the conf files as the stages' params, so both `dvc repro`
after an edit and `dvc exp run -S 'conf/model/<file>.yaml:<key>=<value>'` train with exactly what
conf/ says. The schema turns a wrong type (say `seed: abc`) into an error that names the key,
before any work starts.
"""

from collections.abc import Sequence
from dataclasses import dataclass{% if cookiecutter.framework == 'pytorch' %}, field{% endif %}
from pathlib import Path

from hydra import compose, initialize_config_dir
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

CONF_DIR = Path("conf")


@dataclass
class DataConfig:
    raw: str
    holdout: str
    prepared: str
    target: str
    val_fraction: float

{% if cookiecutter.framework == "sklearn" %}
@dataclass
class ModelConfig:
    name: str
    C: float
    class_weight: str | None = None


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
        raise FileNotFoundError(
            f"no config.yaml in {conf_dir}: run this from the project root (where dvc.yaml is)"
        )
    with initialize_config_dir(config_dir=str(conf_dir), version_base=None):
        composed = compose(config_name="config", overrides=list(overrides))
    try:
        return OmegaConf.merge(OmegaConf.structured(Config), composed)
    except OmegaConfBaseException as error:
        key = getattr(error, "full_key", None) or "?"
        reason = str(error).splitlines()[0]
        raise ValueError(
            f"invalid configuration at {key!r}: {reason}; fix it in {conf_dir}"
        ) from None


def to_yaml(cfg: DictConfig) -> str:
    """The resolved configuration as YAML, as saved next to the weights."""
    return OmegaConf.to_yaml(cfg, resolve=True, sort_keys=True)
