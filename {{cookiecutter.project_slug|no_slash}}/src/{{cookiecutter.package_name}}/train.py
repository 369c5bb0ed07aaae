"""Pipeline stage `train`: fit the model on the prepared training set and save its weights.

Next to the weights go the resolved configuration and, through weightline, the input signature and
a record of the run (who, when, which commit, which environment, a summary of the data), which the
`manifest` stage turns into models/manifest.json.
"""

from pathlib import Path

from weightline import Run, Signature

from . import dataset, model
from .config import load_config, to_yaml


def main() -> None:
    run = Run.start()
    cfg = load_config()
    train = dataset.read(Path(cfg.data.prepared) / "train.csv", cfg.data.target)
    features, labels = dataset.features_and_target(train, cfg.data.target)
    fitted = model.fit(features.to_numpy(), labels, cfg)
    signature = Signature.infer(features, outputs={"probability": "float64"})
    weights = Path(cfg.weights)
    model.save(fitted, weights, metadata=signature.metadata(framework=model.FRAMEWORK))
    weights.with_name("config.yaml").write_text(to_yaml(cfg))
    run.finish(weights, signature, features, labels)
    print(f"train: fitted on {len(train)} rows, weights in {weights}")


if __name__ == "__main__":
    main()
