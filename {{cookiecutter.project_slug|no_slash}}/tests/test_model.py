"""The model: learns the task, saves as safetensors, loads back to identical predictions."""

import json
from pathlib import Path

import numpy as np
from safetensors import safe_open

from {{ cookiecutter.package_name }} import dataset, model


def fit_on(table, cfg):
    train, test = dataset.split(table, "target", 0.25, seed=cfg.seed)
    features, labels = dataset.features_and_target(train, "target")
    return model.fit(features.to_numpy(), labels, cfg), dataset.features_and_target(test, "target")


def test_model_learns_the_task(table, cfg):
    fitted, (features, labels) = fit_on(table, cfg)
    predicted = fitted.predict_proba(features.to_numpy()) >= 0.5
    assert (predicted == labels).mean() > 0.9


def metadata(features) -> dict[str, str]:
    """What training writes into the header: the signature and the framework, as one entry."""
    from weightline import Signature  # not at the top: isort would order it by package name

    signature = Signature.infer(features, outputs={"probability": "float64"})
    return signature.metadata(framework=model.FRAMEWORK)


def test_save_load_round_trip(tmp_path: Path, table, cfg):
    fitted, (features, _) = fit_on(table, cfg)
    path = tmp_path / "weights.safetensors"
    model.save(fitted, path, metadata(features))
    with safe_open(str(path), framework="numpy") as handle:
        header = json.loads(handle.metadata()["weightline"])
    assert header["framework"] == model.FRAMEWORK
    assert header["signature"]["inputs"][0]["name"] == "mean_radius"
    loaded = model.load(path)
    np.testing.assert_array_equal(
        loaded.predict_proba(features.to_numpy()), fitted.predict_proba(features.to_numpy())
    )
