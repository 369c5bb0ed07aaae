"""Pipeline stage `evaluate`: score the weights on the frozen hold-out set; write metrics, plots.

The hold-out set is checked against the signature the weights were trained with (the same check,
with the same messages, as `weightline predict`), so a column dropped or retyped in data/ is named
instead of failing somewhere inside NumPy. Metrics by task:

- binary: accuracy, precision, recall, f1, roc_auc, log_loss (the positive class is the second
  of the signature's classes);
- multiclass: accuracy, f1_macro, roc_auc_ovr (one-vs-rest), log_loss;
- regression: rmse, mae, r2.

Plot data goes to reports/plots/ as JSON lists of rows: roc.json (class, fpr, tpr, threshold) and
confusion.json (actual, predicted) for classes; predictions.json (actual, predicted) and
residuals.json (predicted, residual) for regression.
"""

import json
from pathlib import Path

import numpy as np
from omegaconf import DictConfig
from sklearn import metrics
from weightline import read_signature

from . import dataset, model
from .config import ConfigError, load_config, run_stage

REPORTS = Path("reports")
Rows = list[dict[str, object]]


def classification_metrics(
    truth: np.ndarray, predicted: np.ndarray, probabilities: np.ndarray
) -> dict[str, float]:
    """Metrics of class numbers (0..k-1) and each class's probabilities."""
    classes = list(range(probabilities.shape[1]))
    if len(classes) == 2:
        values = {
            "accuracy": metrics.accuracy_score(truth, predicted),
            "precision": metrics.precision_score(truth, predicted, zero_division=0),
            "recall": metrics.recall_score(truth, predicted, zero_division=0),
            "f1": metrics.f1_score(truth, predicted, zero_division=0),
            "roc_auc": metrics.roc_auc_score(truth, probabilities[:, 1]),
            "log_loss": metrics.log_loss(truth, probabilities, labels=classes),
        }
    else:
        values = {
            "accuracy": metrics.accuracy_score(truth, predicted),
            "f1_macro": metrics.f1_score(truth, predicted, average="macro", zero_division=0),
            "roc_auc_ovr": metrics.roc_auc_score(
                truth, probabilities, multi_class="ovr", labels=classes
            ),
            "log_loss": metrics.log_loss(truth, probabilities, labels=classes),
        }
    return _rounded(values)


def regression_metrics(truth: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    return _rounded(
        {
            "rmse": metrics.root_mean_squared_error(truth, predicted),
            "mae": metrics.mean_absolute_error(truth, predicted),
            "r2": metrics.r2_score(truth, predicted),
        }
    )


def classification_plots(
    names: tuple, truth: np.ndarray, predicted: np.ndarray, probabilities: np.ndarray
) -> dict[str, Rows]:
    """ROC curves (the positive class for binary, each class against the rest otherwise) and
    the confusion matrix's (actual, predicted) pairs, by class name."""
    shown = [1] if len(names) == 2 else range(len(names))
    roc: Rows = []
    for k in shown:
        fpr, tpr, thresholds = metrics.roc_curve(truth == k, probabilities[:, k])
        roc += [
            {"class": names[k], "fpr": _round(f), "tpr": _round(t), "threshold": _round(c)}
            for f, t, c in zip(fpr, tpr, np.minimum(thresholds, 1.0), strict=True)
        ]
    confusion: Rows = [
        {"actual": names[a], "predicted": names[p]} for a, p in zip(truth, predicted, strict=True)
    ]
    return {"roc": roc, "confusion": confusion}


def regression_plots(truth: np.ndarray, predicted: np.ndarray) -> dict[str, Rows]:
    pairs = list(zip(truth, predicted, strict=True))
    return {
        "predictions": [{"actual": _round(a), "predicted": _round(p)} for a, p in pairs],
        "residuals": [{"predicted": _round(p), "residual": _round(a - p)} for a, p in pairs],
    }


def score_holdout(weights: Path, cfg: DictConfig) -> tuple[dict[str, float], dict[str, Rows]]:
    """Metrics and plot rows of any weights file on the frozen hold-out set."""
    path = Path(cfg.data.holdout)
    features, target = dataset.features_and_target(
        dataset.read_table(path, "data.holdout"), cfg.data
    )
    signature = read_signature(weights)
    if signature is None:
        raise ConfigError(f"{weights} has no signature in its header: run `dvc repro` to retrain")
    inputs = signature.check(features, where=f"the hold-out set {path}")
    fitted = model.load(weights)
    if not signature.is_classifier:
        truth, predicted = target.to_numpy(dtype=np.float64), fitted.predict(inputs)
        return regression_metrics(truth, predicted), regression_plots(truth, predicted)
    truth = signature.class_index(target)
    probabilities, predicted = fitted.predict_proba(inputs), fitted.predict(inputs)
    return (
        classification_metrics(truth, predicted, probabilities),
        classification_plots(signature.classes, truth, predicted, probabilities),
    )


def evaluate_weights(weights: Path) -> dict[str, float]:
    """Hold-out metrics of any weights file: the promotion gate's entry point (pyproject.toml)."""
    return score_holdout(weights, load_config())[0]


def write_json(path: Path, value: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=2) + "\n")


def main() -> None:
    cfg = load_config()
    values, plots = score_holdout(Path(cfg.weights), cfg)
    write_json(REPORTS / "metrics.json", values)
    for stale in (REPORTS / "plots").glob("*.json"):  # another task's plots, say
        stale.unlink()
    for name, rows in plots.items():
        write_json(REPORTS / "plots" / f"{name}.json", rows)
    print("evaluate: " + ", ".join(f"{k}={v}" for k, v in values.items()))


def _round(value: float) -> float:
    return round(float(value), 6)


def _rounded(values: dict[str, float]) -> dict[str, float]:
    """Rounded, so that diffs of metrics between versions stay readable."""
    return {name: _round(value) for name, value in values.items()}


if __name__ == "__main__":
    run_stage(main)
