"""The data: scikit-learn's bundled breast-cancer table, exported as CSV and split for training.

Exporting is done once, when the project is set up: the training pool goes to data/raw/ and a
frozen hold-out set to data/holdout/, both tracked by DVC. The hold-out set is cut off with its own
fixed seed before anything else happens, so no training run sees it and editing data/raw/ never
changes it.
"""

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split

TARGET = "target"
# Frozen on purpose: changing these would change the hold-out set that every version is gated on.
HOLDOUT_FRACTION = 0.2
HOLDOUT_SEED = 20240229


def bundled_table() -> pd.DataFrame:
    """The 569-row table shipped inside scikit-learn, with snake_case column names."""
    bunch = load_breast_cancer(as_frame=True)
    frame = bunch.frame.rename(columns=lambda name: name.replace(" ", "_"))
    return frame.astype({TARGET: "int64"})


def export(raw: Path, holdout: Path) -> None:
    """Write the training pool and the frozen hold-out set as CSV files."""
    table = bundled_table()
    pool, frozen = train_test_split(
        table, test_size=HOLDOUT_FRACTION, random_state=HOLDOUT_SEED, stratify=table[TARGET]
    )
    for frame, path in ((pool, raw), (frozen, holdout)):
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.sort_index().to_csv(path, index=False)


def read(path: Path, target: str = TARGET) -> pd.DataFrame:
    """Read a CSV table and check it is usable: a target column, numeric features, no gaps."""
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: run `dvc pull` (or `make setup`) first")
    frame = pd.read_csv(path)
    if target not in frame.columns:
        raise ValueError(f"{path} has no {target!r} column; columns are {list(frame.columns)}")
    non_numeric = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    if non_numeric:
        raise ValueError(f"{path}: columns {non_numeric} are not numeric")
    missing = frame.columns[frame.isna().any()].tolist()
    if missing:
        raise ValueError(f"{path}: columns {missing} have missing values")
    return frame


def split(
    frame: pd.DataFrame, target: str, val_fraction: float, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stratified train/validation split, reproducible from the seed."""
    train, val = train_test_split(
        frame, test_size=val_fraction, random_state=seed, stratify=frame[target]
    )
    return train.sort_index(), val.sort_index()


def features_and_target(frame: pd.DataFrame, target: str) -> tuple[pd.DataFrame, np.ndarray]:
    """Split a table into the feature frame the model sees and the label vector."""
    return frame.drop(columns=[target]), frame[target].to_numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raw", type=Path, default=Path("data/raw/breast_cancer.csv"))
    parser.add_argument("--holdout", type=Path, default=Path("data/holdout/holdout.csv"))
    args = parser.parse_args()
    export(args.raw, args.holdout)
    print(f"wrote {args.raw} and {args.holdout}")


if __name__ == "__main__":
    main()
