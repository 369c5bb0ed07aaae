"""The model: standardisation followed by logistic regression, kept as plain arrays.

scikit-learn fits it; the fitted arrays are the whole model. They are saved as safetensors and
predictions are computed from them with NumPy, so loading a version never unpickles anything.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from omegaconf import DictConfig
from safetensors.numpy import load_file, save_file
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

FRAMEWORK = "sklearn"


@dataclass(frozen=True)
class Model:
    """P(target = 1 | x) = sigmoid(((x - mean) / scale) @ coef + intercept)."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        """Probability of the positive class for each row of `features`."""
        logits = ((features - self.mean) / self.scale) @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-logits))

    def tensors(self) -> dict[str, np.ndarray]:
        return {
            "mean": self.mean,
            "scale": self.scale,
            "coef": self.coef,
            "intercept": self.intercept,
        }


def fit(features: np.ndarray, labels: np.ndarray, cfg: DictConfig) -> Model:
    """Fit scaler and classifier; lbfgs is deterministic, so the same inputs give the same bytes."""
    scaler = StandardScaler().fit(features)
    classifier = LogisticRegression(
        C=cfg.model.C,
        class_weight=cfg.model.class_weight,
        max_iter=cfg.train.max_iter,
        tol=cfg.train.tol,
        random_state=cfg.seed,
    ).fit(scaler.transform(features), labels)
    return Model(
        mean=scaler.mean_.astype(np.float64),
        scale=scaler.scale_.astype(np.float64),
        coef=classifier.coef_[0].astype(np.float64),
        intercept=classifier.intercept_.astype(np.float64),
    )


def save(model: Model, path: Path, metadata: dict[str, str]) -> None:
    """Write the arrays as safetensors; keep `metadata` to one key (see Signature.metadata)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(model.tensors(), str(path), metadata=metadata)


def load(path: Path) -> Model:
    """Read a model written by `save`: arrays only, no code is executed."""
    tensors = load_file(str(path))
    return Model(**{name: tensors[name] for name in ("mean", "scale", "coef", "intercept")})
