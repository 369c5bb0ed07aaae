"""End to end on baked projects: `dvc repro`, changing parameters, pushing and pulling weights."""

import json
import shutil

import pytest
import yaml

from .project import Project, bake, sha256
from .story import set_in_yaml

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("framework", ["sklearn", "pytorch"])
def test_train_push_delete_pull_round_trip(cookies, tmp_path, framework):
    project = bake(cookies, tmp_path, framework=framework)
    project.run("python", "-m", "pytest", "-q", "-p", "no:cacheprovider")
    project.dvc("repro")
    project.commit_all("Train the first model")
    assert "up to date" in project.dvc("status").stdout
    assert project.git("status", "--porcelain") == ""
    metrics = json.loads((project.path / "reports/metrics.json").read_text())
    assert metrics["accuracy"] > 0.85, metrics
    original = sha256(project.weights)

    project.dvc("push")
    shutil.rmtree(project.path / ".dvc/cache")
    project.weights.unlink()
    project.dvc("pull")
    assert sha256(project.weights) == original

    # Same machine, same inputs: a forced re-run gives the same bytes.
    project.dvc("repro", "--force", "train")
    assert sha256(project.weights) == original


def test_conf_edit_retrains_and_exp_run_sets_a_value(cookies, tmp_path):
    project = bake(cookies, tmp_path)
    project.dvc("repro")
    project.commit_all("Train")
    first = sha256(project.weights)

    set_in_yaml(project.path / "conf/model/logreg.yaml", "C", 0.05)
    out = project.dvc("repro").stdout
    assert "Running stage 'train'" in out and "Running stage 'prepare'" not in out
    saved = yaml.safe_load((project.path / "models/config.yaml").read_text())
    assert saved["model"]["C"] == 0.05
    assert sha256(project.weights) != first
    project.commit_all("Regularise harder")

    project.dvc("exp", "run", "-S", "conf/model/logreg.yaml:C=0.5")
    saved = yaml.safe_load((project.path / "models/config.yaml").read_text())
    assert saved["model"]["C"] == 0.5
    shown = json.loads(project.dvc("exp", "show", "--json").stdout)
    experiments = [e for rev in shown for e in (rev.get("experiments") or [])]
    params = [
        run["data"]["params"]["conf/model/logreg.yaml"]["data"]["C"]
        for e in experiments
        for run in e["revs"]
    ]
    assert 0.5 in params
    diff = json.loads(project.dvc("params", "diff", "HEAD", "--json").stdout)
    change = diff["conf/model/logreg.yaml"]["C"]
    assert (change["old"], change["new"]) == (0.05, 0.5)


def test_data_edit_reruns_prepare_and_keeps_holdout(baked: Project):
    baked.dvc("repro")
    baked.commit_all("Train")
    holdout = sha256(baked.path / "data/holdout/holdout.csv")
    raw = baked.path / "data/raw/breast_cancer.csv"
    lines = raw.read_text().splitlines(keepends=True)
    raw.chmod(0o644)
    raw.write_text("".join(lines[:-40]))
    baked.dvc("add", "data/raw")
    out = baked.dvc("repro").stdout
    assert "Running stage 'prepare'" in out and "Running stage 'train'" in out
    assert sha256(baked.path / "data/holdout/holdout.csv") == holdout
    baked.commit_all("Retrain on less data")
    assert "up to date" in baked.dvc("status").stdout
