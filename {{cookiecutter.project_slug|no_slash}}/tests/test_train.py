"""The stages end to end on the configured data, without DVC: prepare, train, evaluate."""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from weightline import WeightlineError

from {{ cookiecutter.package_name }} import dataset, evaluate, prepare, train
from {{ cookiecutter.package_name }}.config import Task

PLOTS = {
    Task.binary: {"roc", "confusion"},
    Task.multiclass: {"roc", "confusion"},
    Task.regression: {"predictions", "residuals"},
}
METRICS = {
    Task.binary: {"accuracy", "precision", "recall", "f1", "roc_auc", "log_loss"},
    Task.multiclass: {"accuracy", "f1_macro", "roc_auc_ovr", "log_loss"},
    Task.regression: {"rmse", "mae", "r2"},
}


def test_stages_write_weights_signature_metrics_and_plots(workdir: Path, cfg):
    prepare.main()
    train.main()
    evaluate.main()

    weights = Path(cfg.weights)
    assert weights.stat().st_size > 0
    saved = yaml.safe_load(Path("models/config.yaml").read_text())
    assert saved["data"]["task"] == cfg.data.task.value
{%- if cookiecutter.framework == "pytorch" %}
    assert saved["train"]["epochs"] == 1  # what the scratch conf/ says
{%- endif %}
    rows = pd.read_csv(Path(cfg.data.prepared) / "train.csv")
    features = [c for c in rows.columns if c not in (cfg.data.target, *cfg.data.drop)]
    signature = json.loads(Path("models/signature.json").read_text())
    assert [c["name"] for c in signature["inputs"]] == features
    assert signature["task"] == cfg.data.task.value
    if cfg.data.task == Task.regression:
        assert [c["name"] for c in signature["outputs"]] == ["prediction"]
    else:
        classes = sorted(rows[cfg.data.target].unique().tolist())
        assert signature["classes"] == classes
        assert [c["name"] for c in signature["outputs"]] == [
            "label",
            *(f"probability_{c}" for c in classes),
        ]
    record = json.loads(Path("models/training.json").read_text())
    assert record["training_data"]["rows"] == len(rows)
    assert record["code"]["commit"] is None  # a scratch directory, not a repository
    metrics = json.loads(Path("reports/metrics.json").read_text())
    assert set(metrics) == METRICS[cfg.data.task]
    assert {p.stem for p in Path("reports/plots").glob("*.json")} == PLOTS[cfg.data.task]


def test_evaluate_checks_the_holdout_against_the_signature(workdir: Path, cfg):
    """A column missing from the hold-out set is named, with `weightline predict`'s message."""
    prepare.main()
    train.main()
    holdout = Path(cfg.data.holdout)
    table = dataset.read_table(holdout, "data.holdout")
    dropped = dataset.features_and_target(table, cfg.data)[0].columns[0]
    dataset.write_table(table.drop(columns=[dropped]), holdout)
    message = f"signature of the hold-out set {holdout}: missing columns: {dropped}"
    with pytest.raises(WeightlineError) as refused:
        evaluate.main()
    assert message in str(refused.value)


def test_training_twice_gives_identical_bytes(workdir: Path, cfg):
    """Separate processes, same data and config: the same weights, byte for byte."""
    prepare.main()
    src = Path(train.__file__).resolve().parents[1]  # wherever the package is imported from
    env = {**os.environ, "PYTHONPATH": str(src)}
    digests = []
    for _ in range(2):
        command = [sys.executable, "-m", "{{ cookiecutter.package_name }}.train"]
        subprocess.run(command, check=True, env=env)
        digests.append(hashlib.sha256(Path(cfg.weights).read_bytes()).hexdigest())
    assert digests[0] == digests[1]
