"""conf/ composes, validates types and values, and every conf file is visible to DVC as params."""

import pytest
import yaml

from {{ cookiecutter.package_name }}.config import ConfigError, Task, load_config


def test_groups_compose(cfg):
    assert set(cfg) == {"seed", "weights", "data", "model", "train"}
    assert cfg.weights == "models/{{ cookiecutter.artifact_name }}.safetensors"
    assert isinstance(cfg.data.task, Task)
    assert cfg.data.target and cfg.data.raw


def test_override_changes_the_value(root):
    cfg = load_config(["seed=7", "data.val_fraction=0.3"], conf_dir=root / "conf")
    assert cfg.seed == 7
    assert cfg.data.val_fraction == 0.3


@pytest.mark.parametrize("override", ["seed=abc", "data.val_fraction=many", "data.task=multi"])
def test_wrong_value_is_refused_with_the_key_named(root, override):
    key = override.split("=")[0]
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_config([override], conf_dir=root / "conf")


def test_unknown_key_is_refused(root):
    with pytest.raises(ConfigError, match="not_a_key"):
        load_config(["+model.not_a_key=1"], conf_dir=root / "conf")


def test_every_conf_file_is_a_dvc_param(root):
    """An edit to any conf file must make `dvc repro` re-run the stages that read it."""
    stages = yaml.safe_load((root / "dvc.yaml").read_text())["stages"]
    params = {
        next(iter(entry)) if isinstance(entry, dict) else entry.rstrip(":")
        for stage in stages.values()
        for entry in stage.get("params", [])
    }
    conf_files = {str(p.relative_to(root)) for p in (root / "conf").rglob("*.yaml")}
    conf_files.remove("conf/gate.yaml")  # the promotion gate's rules, not a training parameter
    assert conf_files <= {p.rstrip(":") for p in params}
