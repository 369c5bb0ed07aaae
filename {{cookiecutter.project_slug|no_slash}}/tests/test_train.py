"""The stages end to end, without DVC: prepare, a quick train on the CPU, evaluate."""

import hashlib
import json
import os
import subprocess
import sys
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
    signature = json.loads(Path("models/signature.json").read_text())
    assert signature["input_shape"] == [-1, 30]
    assert signature["outputs"] == [
        {"name": "probability", "dtype": "float64", "shape": [-1], "nullable": False}
    ]
    record = json.loads(Path("models/training.json").read_text())
    assert record["training_data"]["rows"] == 364
    assert record["code"]["commit"] is None  # a scratch directory, not a repository
    metrics = json.loads(Path("reports/metrics.json").read_text())
    assert set(metrics) >= {"accuracy", "f1", "roc_auc"}
    assert 0.5 <= metrics["accuracy"] <= 1.0
    assert json.loads(Path("reports/plots/roc.json").read_text())[0].keys() == {
        "fpr",
        "tpr",
        "threshold",
    }


def test_training_twice_gives_identical_bytes(workdir: Path):
    """Separate processes, same data and config: the same weights, byte for byte."""
    prepare.main()
    src = Path(train.__file__).resolve().parents[1]  # wherever the package is imported from
    env = {**os.environ, "PYTHONPATH": str(src)}
    digests = []
    for _ in range(2):
        command = [sys.executable, "-m", "{{ cookiecutter.package_name }}.train"]
        subprocess.run(command, check=True, env=env)
        weights = Path("models/{{ cookiecutter.artifact_name }}.safetensors").read_bytes()
        digests.append(hashlib.sha256(weights).hexdigest())
    assert digests[0] == digests[1]
