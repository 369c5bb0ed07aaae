"""Pipeline stage `prepare`: check the raw table and split it into train and validation sets."""

from pathlib import Path

from . import dataset
from .config import load_config


def main() -> None:
    cfg = load_config()
    frame = dataset.read(Path(cfg.data.raw), cfg.data.target)
    train, val = dataset.split(frame, cfg.data.target, cfg.data.val_fraction, cfg.seed)
    out = Path(cfg.data.prepared)
    out.mkdir(parents=True, exist_ok=True)
    train.to_csv(out / "train.csv", index=False)
    val.to_csv(out / "val.csv", index=False)
    print(f"prepare: {len(train)} training rows, {len(val)} validation rows in {out}")


if __name__ == "__main__":
    main()
