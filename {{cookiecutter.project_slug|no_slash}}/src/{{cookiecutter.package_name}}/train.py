"""Pipeline stage `train`: fit the model on the prepared training set and save its weights.

The signature comes from the training data: the input columns and, from the target, the task and
(for classification) the class names, numbered in the order the model learns them. Next to the
weights go the resolved configuration and, through weightline, the signature and a record of the
run (who, when, which commit, which environment, a summary of the data), which the `manifest`
stage turns into models/manifest.json.
"""

from pathlib import Path

from weightline import Run, Signature

from . import dataset, model
from .config import load_config, run_stage, to_yaml


def main() -> None:
    run = Run.start()
    cfg = load_config()
    train = dataset.read(Path(cfg.data.prepared) / "train.csv", cfg.data, "data.prepared")
    features, target = dataset.features_and_target(train, cfg.data)
    signature = Signature.from_training(features, target, cfg.data.task.value)
    y = signature.class_index(target) if signature.is_classifier else target.to_numpy()
    fitted = model.fit(features.to_numpy(), y, cfg)
    weights = Path(cfg.weights)
    model.save(fitted, weights, metadata=signature.metadata(framework=model.FRAMEWORK))
    weights.with_name("config.yaml").write_text(to_yaml(cfg))
    run.finish(weights, signature, features, target.to_numpy())
    print(f"train: fitted a {cfg.data.task.value} model on {len(train)} rows, weights in {weights}")


if __name__ == "__main__":
    run_stage(main)
