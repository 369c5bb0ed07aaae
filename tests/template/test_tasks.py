"""Your own data and your own task: every task x framework, from the README's steps alone.

Each case bakes a project, brings a table the example does not use (scikit-learn's wine data for
classes, with integer or text labels, and its diabetes data for regression; CSV or Parquet) the
way README's "Bring your own data" says, and goes the whole way: `dvc repro` -> commit -> v1.0.0
-> the project's own `make test` -> a hyperparameter change -> v1.1.0 -> `weightline predict` on
new rows -> `git checkout model@v1.0.0 && dvc pull` gives v1.0.0's exact weights. One bake and
two trainings per case; everything real (git, DVC, training).
"""

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.datasets import load_diabetes, load_wine

from .project import Project, bake, sha256, weightline
from .story import add_origin, set_in_yaml, version_summary

pytestmark = pytest.mark.slow

CULTIVARS = np.array(["barolo", "grignolino", "barbera"])  # the wine data's three cultivars


def wine(labels: str) -> pd.DataFrame:
    """178 wines, 13 measurements; the cultivar as an integer or by name ("text"), or only the
    first two cultivars by name ("two")."""
    bunch = load_wine(as_frame=True)
    frame = bunch.data.rename(columns=lambda name: name.replace("/", "_"))
    codes = bunch.target.to_numpy()
    if labels == "integer":
        return frame.assign(cultivar=codes)
    frame = frame.assign(cultivar=CULTIVARS[codes])
    return frame[codes < 2].reset_index(drop=True) if labels == "two" else frame


def diabetes() -> pd.DataFrame:
    """442 patients, 10 measurements (unscaled), `progression` a year later."""
    bunch = load_diabetes(as_frame=True, scaled=False)
    return bunch.data.assign(progression=bunch.target)


@dataclass(frozen=True)
class Case:
    framework: str
    task: str
    file: str  # its name in data/raw/; the suffix says CSV or Parquet
    labels: str  # for wine: "two" cultivars by name, all three by name ("text") or "integer"

    @property
    def target(self) -> str:
        return "progression" if self.task == "regression" else "cultivar"

    def table(self) -> pd.DataFrame:
        return diabetes() if self.task == "regression" else wine(self.labels)

    def change(self) -> tuple[str, str, float]:
        """The hyperparameter a user tries next: conf/model file, key, value."""
        if self.framework == "pytorch":
            return "mlp.yaml", "dropout", 0.3
        return (
            ("ridge.yaml", "alpha", 10.0)
            if self.task == "regression"
            else ("logreg.yaml", "C", 0.05)
        )


CASES = {
    "sklearn-binary-text-csv": Case("sklearn", "binary", "wines.csv", "two"),
    "pytorch-binary-text-csv": Case("pytorch", "binary", "wines.csv", "two"),
    "sklearn-multiclass-integer-csv": Case("sklearn", "multiclass", "wines.csv", "integer"),
    "pytorch-multiclass-text-parquet": Case("pytorch", "multiclass", "wines.parquet", "text"),
    "sklearn-regression-csv": Case("sklearn", "regression", "patients.csv", ""),
    "pytorch-regression-parquet": Case("pytorch", "regression", "patients.parquet", ""),
}


EXAMPLES = {"binary": "breast_cancer.csv", "multiclass": "iris.csv", "regression": "friedman.csv"}


def bring_your_own_data(project: Project, case: Case) -> None:
    """README, "Bring your own data", as a user might first do it: the file into data/raw/, the
    example out, `raw` set in the one YAML, and the target forgotten."""
    raw = project.path / "data/raw"
    path = raw / case.file
    table = case.table()
    if path.suffix == ".parquet":
        table.to_parquet(path, index=False)
    else:
        table.to_csv(path, index=False)
    (raw / EXAMPLES[case.task]).unlink()
    edit(project.path / "conf/data/default.yaml", "raw", f"data/raw/{case.file}")


def refused(project: Project, *command: str, says: str) -> None:
    """The command fails with a message naming the fix, and no traceback."""
    done = project.run(*command, check=False)
    assert done.returncode != 0 and says in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def edit(path: Path, key: str, value: str) -> None:
    """Change one top-level value in a YAML file as an editor would: comments stay."""
    text, count = re.subn(rf"^{key}: \S+", f"{key}: {value}", path.read_text(), flags=re.M)
    assert count == 1, f"{path} has no single {key!r}"
    path.write_text(text)


def commit(project: Project, message: str) -> str:
    """`git add --all && git commit`; what the post-commit hook said."""
    project.git("add", "--all")
    return project.run("git", "commit", "--quiet", "-m", message).stderr


@pytest.mark.parametrize("name", list(CASES))
def test_bring_your_own_data_to_v1_and_back(cookies, tmp_path: Path, name: str):
    case = CASES[name]
    project = bake(cookies, tmp_path, framework=case.framework, task=case.task)
    add_origin(project, tmp_path)

    bring_your_own_data(project, case)
    refused(project, "make", "holdout", says="make holdout REPLACE=1")
    refused(project, "make", "holdout", "REPLACE=1", says="set `data.target`")
    edit(project.path / "conf/data/default.yaml", "target", case.target)
    project.run("make", "holdout", "REPLACE=1")
    # Edited by hand: the data file (DVC's, so git shows none of it) and two lines of one YAML.
    # The .dvc files are DVC's record of the new data, written by `make holdout`; src/ is as baked.
    changed = project.git("diff", "HEAD", "--name-only").split()
    assert changed == ["conf/data/default.yaml", "data/holdout.dvc", "data/raw.dvc"]
    assert project.git("diff", "HEAD", "--numstat", "--", changed[0]).split()[:2] == ["2", "2"]
    assert project.git("ls-files", "--others", "--exclude-standard") == ""
    if case.framework == "pytorch":  # fewer epochs: this suite's time, not a step users take
        set_in_yaml(project.path / "conf/train/default.yaml", "epochs", 15)

    project.dvc("repro")
    project.run("make", "test")
    assert "registered model@v1.0.0" in commit(project, "Train on our data")
    project.run("make", "push")
    first = json.loads((project.path / "reports/metrics.json").read_text())
    print(f"\n{name}: hold-out metrics of v1.0.0: {first}")
    assert_learned(case.task, first)

    conf, key, value = case.change()
    set_in_yaml(project.path / "conf/model" / conf, key, value)
    project.dvc("repro")
    out = commit(project, f"Try {key}={value}")
    assert f"registered model@v1.1.0 (minor: config changed: model.{key}" in out, out
    project.run("make", "push")

    assert_predicts_new_rows(project, case)
    assert_rolls_back_to_v1(project)


def assert_learned(task: str, metrics: dict[str, float]) -> None:
    if task == "regression":
        assert set(metrics) == {"rmse", "mae", "r2"} and metrics["r2"] > 0.2, metrics
    elif task == "binary":
        assert metrics["accuracy"] > 0.8 and metrics["roc_auc"] > 0.9, metrics
    else:
        assert metrics["accuracy"] > 0.8 and metrics["roc_auc_ovr"] > 0.9, metrics


def assert_predicts_new_rows(project: Project, case: Case) -> None:
    """`weightline predict` on rows without the target: labels by name, or values."""
    table = case.table()
    rows = table.drop(columns=[case.target]).sample(12, random_state=1)
    batch, answers = project.path.parent / "new.csv", project.path.parent / "answers.csv"
    rows.to_csv(batch, index=False)
    weightline(project, "predict", "v1.1.0", "--input", str(batch), "--output", str(answers))
    found = pd.read_csv(answers)
    assert len(found) == len(rows)
    if case.task == "regression":
        assert list(found.columns) == ["prediction"]
        assert found["prediction"].between(0, 500).all()
        return
    classes = sorted(table[case.target].unique().tolist())
    assert list(found.columns) == ["label", *(f"probability_{c}" for c in classes)]
    assert set(found["label"]) <= set(classes)
    np.testing.assert_allclose(found.iloc[:, 1:].sum(axis=1), 1.0, atol=1e-9)
    signature = json.loads((project.path / "models/signature.json").read_text())
    assert signature["task"] == case.task and signature["classes"] == classes


def assert_rolls_back_to_v1(project: Project) -> None:
    """README: `git checkout model@v1.0.0 && dvc pull` gives v1.0.0's exact weights."""
    expected = version_summary(project, "model@v1.0.0")["weights_sha256"]
    assert sha256(project.weights) != expected
    project.git("checkout", "--quiet", "model@v1.0.0")
    project.dvc("pull")
    assert sha256(project.weights) == expected
    project.git("checkout", "--quiet", "main")
    project.dvc("checkout")
    assert sha256(project.weights) == version_summary(project, "model@v1.1.0")["weights_sha256"]


@pytest.mark.parametrize("task", ["multiclass", "regression"])
def test_each_example_reaches_its_own_gate(cookies, tmp_path: Path, task: str):
    """A new project's example data trains to the thresholds its conf/gate.yaml asks of a first
    production version (binary's example is trained throughout the rest of the suite)."""
    project = bake(cookies, tmp_path, task=task)
    project.dvc("repro")
    metrics = json.loads((project.path / "reports/metrics.json").read_text())
    rules = yaml.safe_load((project.path / "conf/gate.yaml").read_text())["metrics"]
    for metric, rule in rules.items():
        if "threshold" in rule:
            better = np.greater_equal if rule["direction"] == "higher" else np.less_equal
            assert better(metrics[metric], rule["threshold"]), (metric, metrics, rule)
    pyproject = (project.path / "pyproject.toml").read_text()
    key_metrics = re.search(r"^key_metrics = (\[.*\])", pyproject, re.MULTILINE).group(1)
    assert set(json.loads(key_metrics)) <= set(metrics)
