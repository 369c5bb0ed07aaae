"""The data: one table (CSV or Parquet), checked before anything learns from it, and its splits.

`data.raw` in conf/data/default.yaml names the table, `data.target` the column to predict and
`data.task` what kind of answer that is. Every problem found here names the conf key or the column
to fix: a wrong target, text where the model needs numbers, gaps, a task that does not fit the
target.
"""

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from .config import DATA_CONF, ConfigError, DataConfig, Task


def read_table(path: Path, key: str = "data.raw") -> pd.DataFrame:
    """A CSV or Parquet file as a frame; `key` is the conf key that named it (for the message)."""
    if not path.is_file():
        raise ConfigError(
            f"{path} does not exist: set `{key}` in {DATA_CONF} to your file "
            "(or `dvc pull` it, if it is tracked by DVC)"
        )
    if path.suffix.lower() == ".csv":
        table = pd.read_csv(path)  # pandas 3 reads back exactly the floats that it wrote
    elif path.suffix.lower() == ".parquet":
        table = pd.read_parquet(path)
    else:
        raise ConfigError(f"{path}: `{key}` must name a .csv or .parquet file")
    if table.empty:
        raise ConfigError(f"{path} has no rows")
    return table


def write_table(table: pd.DataFrame, path: Path) -> None:
    """Write a frame in the format its suffix names (.csv or .parquet).

    The table goes to a new file that then replaces `path`: with DVC's link cache types the old
    file is a link into the cache, and writing into it would change every version's copy.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    try:
        if path.suffix.lower() == ".parquet":
            table.to_parquet(partial, index=False)
        else:
            table.to_csv(partial, index=False)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)  # left only if writing failed


def read(path: Path, data: DataConfig, key: str = "data.raw") -> pd.DataFrame:
    """The table at `path`, checked against the data settings (see `check`)."""
    table = read_table(path, key)
    check(table, data, path)
    return table


def check(table: pd.DataFrame, data: DataConfig, path: Path) -> None:
    """Refuse a table the model cannot learn from, naming the column and the fix."""
    if data.target not in table.columns:
        raise ConfigError(
            f"{path} has no column {data.target!r}: set `data.target` in {DATA_CONF} to the "
            f"column to predict (the columns are {', '.join(map(str, table.columns))})"
        )
    if unknown := [c for c in data.drop if c not in table.columns]:
        raise ConfigError(
            f"`data.drop` in {DATA_CONF} names columns {path} does not have: {', '.join(unknown)}"
        )
    features, target = features_and_target(table, data)
    if text := [f"{c} ({features[c].dtype})" for c in features if not _is_number(features[c])]:
        raise ConfigError(
            f"{path}: the model takes numbers, and these columns are not: {', '.join(text)}. "
            f"Encode them as numbers in the file (say one 0/1 column per category), or list "
            f"them under `data.drop` in {DATA_CONF}"
        )
    if gaps := _gaps(features):
        raise ConfigError(
            f"{path}: columns with missing or infinite values: {', '.join(gaps)}. Fill them in "
            f"or remove those rows, or list the columns under `data.drop` in {DATA_CONF}"
        )
    if target.isna().any():
        rows = int(target.isna().sum())
        raise ConfigError(f"{path}: the target {data.target!r} is missing in {rows} rows")
    check_task(target, data)


def check_task(target: pd.Series, data: DataConfig) -> None:
    """The task must fit the target: numbers for regression, a few labels for classification."""
    classes = target.nunique()
    if data.task == Task.regression:
        if not _is_number(target) or pd.api.types.is_bool_dtype(target):
            labels = "binary" if classes == 2 else "multiclass"
            raise ConfigError(
                f"the target {data.target!r} holds {target.dtype} values, not numbers: for "
                f"labels set `data.task: {labels}` in {DATA_CONF}"
            )
        return
    if target.dtype.kind == "f" and not np.array_equal(target, target.round()):
        raise ConfigError(
            f"the target {data.target!r} holds fractions (say {target.iloc[0]}), not labels: to "
            f"predict a number set `data.task: regression` in {DATA_CONF}"
        )
    if data.task == Task.binary and classes > 2:
        raise ConfigError(
            f"`data.task: binary` needs 2 classes, and the target {data.target!r} has {classes}: "
            f"set `data.task: multiclass` in {DATA_CONF}"
        )
    if classes < 2:
        raise ConfigError(f"the target {data.target!r} has only one class: nothing to learn")


def features_and_target(table: pd.DataFrame, data: DataConfig) -> tuple[pd.DataFrame, pd.Series]:
    """The columns the model sees (all but the target and `data.drop`), and the target."""
    if data.target not in table.columns:
        raise ConfigError(f"no column {data.target!r} (`data.target` in {DATA_CONF})")
    return table.drop(columns=[data.target, *data.drop], errors="ignore"), table[data.target]


def split(
    table: pd.DataFrame, data: DataConfig, fraction: float, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(rest, part): `fraction` of the rows in `part`, reproducible from the seed.

    Stratified for classification, so that both sides keep the class balance; a class with too
    few rows to be on both sides is named.
    """
    labels = table[data.target] if data.task != Task.regression else None
    if labels is not None and (rare := labels.value_counts()[lambda n: n < 2]).size:
        raise ConfigError(
            f"classes with a single row cannot be split: {', '.join(map(str, rare.index))}. "
            f"Add rows of them or remove them from {data.raw}"
        )
    try:
        rest, part = train_test_split(table, test_size=fraction, random_state=seed, stratify=labels)
    except ValueError as error:
        raise ConfigError(f"cannot split {len(table)} rows {fraction:g} to 1: {error}") from None
    return rest.sort_index(), part.sort_index()


def without(table: pd.DataFrame, holdout: pd.DataFrame) -> pd.DataFrame:
    """The rows of `table` that are not hold-out rows (equal in every hold-out column).

    This is what keeps the hold-out set out of training even when `data.raw` is replaced by a
    fresh export that contains those rows again.
    """
    keys = [c for c in holdout.columns if c in table.columns]
    frozen = holdout[keys].astype(table.dtypes[keys].to_dict()).drop_duplicates()
    marked = table.merge(frozen, on=keys, how="left", indicator=True)
    return table[marked["_merge"].to_numpy() == "left_only"]


def _is_number(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) and isinstance(column.dtype, np.dtype)


def _gaps(features: pd.DataFrame) -> list[str]:
    found = []
    for name in features:
        values = features[name].to_numpy(dtype=np.float64)
        if bad := int((~np.isfinite(values)).sum()):
            found.append(f"{name} ({bad} rows)")
    return found
