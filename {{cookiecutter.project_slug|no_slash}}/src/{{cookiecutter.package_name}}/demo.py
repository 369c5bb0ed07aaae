"""The example data, so that a new project trains offline from its first minute. Replace it.

One table per task, all made from what scikit-learn ships (nothing is downloaded):

- binary: the Wisconsin breast-cancer table, 569 tumours, 30 measurements, `target` 0 or 1;
- multiclass: Fisher's iris flowers, 150 rows, 4 measurements, `species` by name;
- regression: Friedman's first benchmark (`make_friedman1`, fixed seed), 500 rows, `y` from ten
  inputs x0..x9 of which five are noise, non-linear enough to tell models apart.

`make setup` writes the configured task's table to `data.raw` once, and splits its hold-out set off
as `make holdout` does. To use your own data, see README ("Bring your own data"): nothing in this
module is read after that.
"""

from pathlib import Path

import pandas as pd
from sklearn.datasets import load_breast_cancer, load_iris, make_friedman1

from . import holdout
from .config import DATA_CONF, ConfigError, Task, load_config, run_stage
from .dataset import write_table

FILES = {
    Task.binary: "data/raw/breast_cancer.csv",
    Task.multiclass: "data/raw/iris.csv",
    Task.regression: "data/raw/friedman.csv",
}


def breast_cancer() -> pd.DataFrame:
    frame = load_breast_cancer(as_frame=True).frame
    return frame.rename(columns=lambda name: name.replace(" ", "_")).astype({"target": "int64"})


def iris() -> pd.DataFrame:
    bunch = load_iris(as_frame=True)
    frame = bunch.data.rename(columns=lambda name: name.replace(" (cm)", "_cm").replace(" ", "_"))
    return frame.assign(species=bunch.target_names[bunch.target])


def friedman() -> pd.DataFrame:
    inputs, y = make_friedman1(n_samples=500, n_features=10, noise=1.0, random_state=0)
    frame = pd.DataFrame(inputs, columns=[f"x{i}" for i in range(10)])
    return frame.assign(y=y).round(6)


def example(task: Task) -> pd.DataFrame:
    return {Task.binary: breast_cancer, Task.multiclass: iris, Task.regression: friedman}[task]()


def main() -> None:
    """Write the example table (unless `data.raw` exists), then its hold-out set (unless that
    exists)."""
    cfg = load_config()
    raw = Path(cfg.data.raw)
    if not raw.exists():
        if raw != Path(FILES[cfg.data.task]):
            raise ConfigError(
                f"{raw} (`data.raw` in {DATA_CONF}) is missing: it names your own data, so put "
                f"the file there (or `dvc pull` it); the example goes only to "
                f"{FILES[cfg.data.task]}"
            )
        write_table(example(cfg.data.task), raw)
        print(f"demo: wrote the example {cfg.data.task.value} table to {raw}")
    if not Path(cfg.data.holdout).exists():
        holdout.cut(cfg)


if __name__ == "__main__":
    run_stage(main)
