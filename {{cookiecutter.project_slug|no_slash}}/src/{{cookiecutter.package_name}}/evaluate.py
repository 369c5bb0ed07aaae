"""Pipeline stage `evaluate`: score the weights on the frozen hold-out set, write metrics, plots."""

import json
from pathlib import Path

import numpy as np
from omegaconf import DictConfig
from sklearn import metrics

from . import dataset, model
from .config import load_config

REPORTS = Path("reports")


def score(
    labels: np.ndarray, probabilities: np.ndarray, threshold: float = 0.5
) -> dict[str, float]:
    """The metrics every version is compared on (rounded so that diffs stay readable)."""
    predicted = (probabilities >= threshold).astype(int)
    values = {
        "accuracy": metrics.accuracy_score(labels, predicted),
        "precision": metrics.precision_score(labels, predicted, zero_division=0),
        "recall": metrics.recall_score(labels, predicted, zero_division=0),
        "f1": metrics.f1_score(labels, predicted, zero_division=0),
        "roc_auc": metrics.roc_auc_score(labels, probabilities),
        "log_loss": metrics.log_loss(labels, probabilities, labels=[0, 1]),
    }
    return {name: round(float(value), 6) for name, value in values.items()}


def plots(labels: np.ndarray, probabilities: np.ndarray, threshold: float = 0.5) -> dict[str, list]:
    """Rows for DVC's plots: the ROC curve and the confusion matrix."""
    fpr, tpr, thresholds = metrics.roc_curve(labels, probabilities)
    roc = [
        {"fpr": round(float(f), 6), "tpr": round(float(t), 6), "threshold": round(float(c), 6)}
        for f, t, c in zip(fpr, tpr, np.minimum(thresholds, 1.0), strict=True)
    ]
    predicted = (probabilities >= threshold).astype(int)
    confusion = [
        {"actual": int(a), "predicted": int(p)} for a, p in zip(labels, predicted, strict=True)
    ]
    return {"roc": roc, "confusion": confusion}


def write_json(path: Path, value: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=2) + "\n")


def predict_holdout(weights: Path, cfg: DictConfig) -> tuple[np.ndarray, np.ndarray]:
    """Labels and predicted probabilities of `weights` on the frozen hold-out set."""
    holdout = dataset.read(Path(cfg.data.holdout), cfg.data.target)
    features, labels = dataset.features_and_target(holdout, cfg.data.target)
    return labels, model.load(weights).predict_proba(features.to_numpy())


def evaluate_weights(weights: Path) -> dict[str, float]:
    """Hold-out metrics of any weights file: the promotion gate's entry point (pyproject.toml)."""
    return score(*predict_holdout(weights, load_config()))


def main() -> None:
    cfg = load_config()
    labels, probabilities = predict_holdout(Path(cfg.weights), cfg)
    values = score(labels, probabilities)
    write_json(REPORTS / "metrics.json", values)
    for name, rows in plots(labels, probabilities).items():
        write_json(REPORTS / "plots" / f"{name}.json", rows)
    print("evaluate: " + ", ".join(f"{k}={v}" for k, v in values.items()))


if __name__ == "__main__":
    main()
