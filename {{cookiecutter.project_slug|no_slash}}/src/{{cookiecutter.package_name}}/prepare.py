"""Pipeline stage `prepare`: check the data, leave the hold-out rows out, split train/validation."""

from pathlib import Path

from . import dataset
from .config import load_config, run_stage


def main() -> None:
    cfg = load_config()
    table = dataset.read(Path(cfg.data.raw), cfg.data)
    holdout = dataset.read_table(Path(cfg.data.holdout), "data.holdout")
    pool = dataset.without(table, holdout)
    train, val = dataset.split(pool, cfg.data, cfg.data.val_fraction, cfg.seed)
    out = Path(cfg.data.prepared)
    dataset.write_table(train, out / "train.csv")
    dataset.write_table(val, out / "val.csv")
    print(
        f"prepare: {len(table) - len(pool)} hold-out rows left out; {len(train)} training rows, "
        f"{len(val)} validation rows in {out}"
    )


if __name__ == "__main__":
    run_stage(main)
