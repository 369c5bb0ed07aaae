"""The stages end to end, without DVC: prepare, a quick train on the CPU, evaluate."""

import json
from pathlib import Path

import yaml

from {{ cookiecutter.package_name }} import evaluate, prepare, train


def test_stages_write_weights_config_and_metrics(workdir: Path):
{%- if cookiecutter.framework == "pytorch" %}
    # One epoch: enough to show that training runs on the CPU.
    train_conf = workdir / "conf/train/default.yaml"
    train_conf.write_text(train_conf.read_text().replace("epochs: 40", "epochs: 1"))
{%- endif %}
    prepare.main()
    train.main()
    evaluate.main()

    weights = Path("models/{{ cookiecutter.artifact_name }}.safetensors")
    assert weights.stat().st_size > 0
    saved = yaml.safe_load(Path("models/config.yaml").read_text())
    assert saved["model"]["name"] == "{{ 'logreg' if cookiecutter.framework == 'sklearn' else 'mlp' }}"
{%- if cookiecutter.framework == "pytorch" %}
    assert saved["train"]["epochs"] == 1
{%- endif %}
    metrics = json.loads(Path("reports/metrics.json").read_text())
    assert set(metrics) >= {"accuracy", "f1", "roc_auc"}
    assert 0.5 <= metrics["accuracy"] <= 1.0
    assert json.loads(Path("reports/plots/roc.json").read_text())[0].keys() == {
        "fpr",
        "tpr",
        "threshold",
    }
