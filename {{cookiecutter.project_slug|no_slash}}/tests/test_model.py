"""The model: learns the task, saves as safetensors, loads back to identical predictions."""

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


def test_save_load_round_trip(tmp_path: Path, table, cfg):
    fitted, (features, _) = fit_on(table, cfg)
    path = tmp_path / "weights.safetensors"
    model.save(fitted, path, metadata={"note": "x"})
    with safe_open(str(path), framework="numpy") as handle:
        assert handle.metadata() == {"framework": model.FRAMEWORK, "note": "x"}
    loaded = model.load(path)
    np.testing.assert_array_equal(
        loaded.predict_proba(features.to_numpy()), fitted.predict_proba(features.to_numpy())
    )


def test_same_inputs_give_identical_weights(tmp_path: Path, table, cfg):
    paths = [tmp_path / "a.safetensors", tmp_path / "b.safetensors"]
    for path in paths:
        fitted, _ = fit_on(table, cfg)
        model.save(fitted, path, metadata={})
    assert paths[0].read_bytes() == paths[1].read_bytes()
