"""The model: standardised features into a linear model, kept as plain arrays.

scikit-learn fits it (logistic regression for classes, ridge regression for a number); the fitted
arrays are the whole model. They are saved as safetensors and predictions are computed from them
with NumPy, so loading a version never unpickles anything. `load` is the project's loader
(`loader` in [tool.weightline]): it gives an object with `predict` and, for classes,
`predict_proba`, as weightline's loader contract asks.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from omegaconf import DictConfig
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.preprocessing import StandardScaler
from weightline import Signature, load_arrays, save_arrays

from .config import Task

FRAMEWORK = "sklearn"
ARRAYS = ("mean", "scale", "coef", "intercept")


@dataclass(frozen=True)
class Linear:
    """scores = ((x - mean) / scale) @ coef.T + intercept, one column per output."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray  # (outputs, features)
    intercept: np.ndarray  # (outputs,)

    def scores(self, features: np.ndarray) -> np.ndarray:
        return ((features - self.mean) / self.scale) @ self.coef.T + self.intercept

    def arrays(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in ARRAYS}


class Classifier(Linear):
    """Two classes share one score (the log-odds of class 1); more classes get one each."""

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        """Each class's probability, one column per class, in the signature's class order."""
        scores = self.scores(features)
        if scores.shape[1] == 1:
            positive = 1.0 / (1.0 + np.exp(-scores[:, 0]))
            return np.column_stack([1.0 - positive, positive])
        exp = np.exp(scores - scores.max(axis=1, keepdims=True))
        return exp / exp.sum(axis=1, keepdims=True)

    def predict(self, features: np.ndarray) -> np.ndarray:
        """The most probable class's number (0..k-1) for each row."""
        return self.predict_proba(features).argmax(axis=1)


class Regressor(Linear):
    def predict(self, features: np.ndarray) -> np.ndarray:
        """The predicted value for each row."""
        return self.scores(features)[:, 0]


def fit(features: np.ndarray, target: np.ndarray, cfg: DictConfig) -> Classifier | Regressor:
    """Fit on class numbers (classification) or values (regression); the same inputs give the
    same bytes (lbfgs and ridge's closed form are deterministic)."""
    scaler = StandardScaler().fit(features)
    scaled = scaler.transform(features)
    if cfg.data.task == Task.regression:
        return Regressor(*_arrays(scaler, Ridge(alpha=cfg.model.alpha).fit(scaled, target)))
    classifier = LogisticRegression(
        C=cfg.model.C,
        class_weight=cfg.model.class_weight,
        max_iter=cfg.train.max_iter,
        tol=cfg.train.tol,
        random_state=cfg.seed,
    )
    return Classifier(*_arrays(scaler, classifier.fit(scaled, target)))


def _arrays(scaler: StandardScaler, fitted: LogisticRegression | Ridge) -> list[np.ndarray]:
    """mean, scale, coef (outputs x features) and intercept, as float64 arrays."""
    return [
        scaler.mean_.astype(np.float64),
        scaler.scale_.astype(np.float64),
        np.atleast_2d(fitted.coef_).astype(np.float64),
        np.atleast_1d(fitted.intercept_).astype(np.float64),
    ]


def save(model: Linear, path: Path, metadata: dict[str, str]) -> None:
    """Write the arrays as safetensors (C-ordered by weightline.save_arrays)."""
    save_arrays(model.arrays(), path, metadata)


def load(path: Path) -> Classifier | Regressor:
    """Read a model written by `save`: arrays and the signature in the header, no code runs."""
    arrays, metadata = load_arrays(path)
    signature = Signature.from_metadata(metadata)
    kind = Regressor if signature and not signature.is_classifier else Classifier
    return kind(*(arrays[name] for name in ARRAYS))
