"""Pipeline stage `train`: fit the model on the prepared training set and save its weights.

The resolved configuration is saved next to the weights, so the repo always says exactly which
configuration produced the weights it points at.
"""

from pathlib import Path

from . import dataset, model
from .config import load_config, to_yaml


def main() -> None:
    cfg = load_config()
    train = dataset.read(Path(cfg.data.prepared) / "train.csv", cfg.data.target)
    features, labels = dataset.features_and_target(train, cfg.data.target)
    fitted = model.fit(features.to_numpy(), labels, cfg)
    weights = Path(cfg.weights)
    model.save(fitted, weights, metadata={})
    weights.with_name("config.yaml").write_text(to_yaml(cfg))
    print(f"train: fitted on {len(train)} rows, weights in {weights}")


if __name__ == "__main__":
    main()
