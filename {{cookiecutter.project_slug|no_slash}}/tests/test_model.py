"""The model: learns the configured task, saves as safetensors, loads back to the same answers."""

import json
from pathlib import Path

import numpy as np
import pytest
from safetensors import safe_open
from weightline import Signature

from {{ cookiecutter.package_name }} import dataset, model
from {{ cookiecutter.package_name }}.config import load_config


@pytest.fixture(scope="module")
def fit_on(table, root):
    """Fit once on three quarters of the table: the signature, the fitted model, the rest."""
    cfg = load_config(conf_dir=root / "conf")
    train, test = dataset.split(table, cfg.data, 0.25, seed=cfg.seed)
    features, target = dataset.features_and_target(train, cfg.data)
    signature = Signature.from_training(features, target, cfg.data.task.value)
    y = signature.class_index(target) if signature.is_classifier else target.to_numpy()
    fitted = model.fit(features.to_numpy(), y, cfg)
    return signature, fitted, dataset.features_and_target(test, cfg.data)


def test_model_learns_the_task(fit_on):
    signature, fitted, (features, target) = fit_on
    predicted = fitted.predict(features.to_numpy())
    if signature.is_classifier:
        truth = signature.class_index(target)
        majority = np.bincount(truth).max() / len(truth)
        assert (predicted == truth).mean() > majority, "no better than the most common class"
        probabilities = fitted.predict_proba(features.to_numpy())
        assert probabilities.shape == (len(truth), len(signature.classes))
        np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
    else:
        residual = ((target.to_numpy() - predicted) ** 2).sum()
        assert residual < ((target - target.mean()) ** 2).sum(), "no better than the mean"


def test_save_load_round_trip(tmp_path: Path, fit_on, cfg):
    signature, fitted, (features, _) = fit_on
    path = tmp_path / "weights.safetensors"
    model.save(fitted, path, signature.metadata(framework=model.FRAMEWORK))
    with safe_open(str(path), framework="numpy") as handle:
        header = json.loads(handle.metadata()["weightline"])
    assert header["framework"] == model.FRAMEWORK
    assert header["signature"]["task"] == cfg.data.task.value
    assert [c["name"] for c in header["signature"]["inputs"]] == list(features.columns)
    loaded = model.load(path)
    assert type(loaded) is type(fitted)
    inputs = features.to_numpy()
    np.testing.assert_array_equal(loaded.predict(inputs), fitted.predict(inputs))
    if signature.is_classifier:
        np.testing.assert_array_equal(loaded.predict_proba(inputs), fitted.predict_proba(inputs))
