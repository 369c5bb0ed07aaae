"""`make holdout`: split the frozen hold-out set off your data, once.

Every version is scored on the same hold-out rows, which is what makes their metrics comparable
and what the production gate relies on. So the set is cut once: a fixed share of `data.raw`
(`data.holdout_fraction`), with a fixed seed, stratified by class for classification, written to
`data.holdout`. The `prepare` stage leaves those rows out of training, whatever `data.raw` holds
later. Cutting a new set changes what every version is measured on, so an existing one is only
replaced when asked: `make holdout REPLACE=1` (or `python -m <package>.holdout --replace`).
"""

import argparse
from pathlib import Path

from omegaconf import DictConfig

from . import dataset
from .config import ConfigError, load_config, run_stage

SEED = 20240229  # frozen on purpose: the same data always gives the same hold-out set


def cut(cfg: DictConfig) -> None:
    """Split the hold-out set off `data.raw` and write it to `data.holdout`."""
    raw, holdout = Path(cfg.data.raw), Path(cfg.data.holdout)
    table = dataset.read(raw, cfg.data)
    _, frozen = dataset.split(table, cfg.data, cfg.data.holdout_fraction, SEED)
    dataset.write_table(frozen, holdout)
    print(
        f"holdout: {len(frozen)} of the {len(table)} rows of {raw} are the hold-out set "
        f"{holdout}; `prepare` leaves them out of training"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replace", action="store_true", help="replace an existing hold-out set")
    args = parser.parse_args(argv)
    cfg = load_config()
    if Path(cfg.data.holdout).exists() and not args.replace:
        raise ConfigError(
            f"{cfg.data.holdout} already exists: every version so far was scored on it. To cut "
            f"a new hold-out set from {cfg.data.raw}, run `make holdout REPLACE=1`; promoting a "
            "version scored on the new set to production then needs an explicit re-base (README)"
        )
    cut(cfg)


if __name__ == "__main__":
    run_stage(main)
