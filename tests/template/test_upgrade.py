"""Upgrading: a project made and registered by the vendored layout keeps its history on the library.

The template as of commit f75c5c9 (the last one that copied weightline into every project) is
taken with `git archive` into a temporary directory (this checkout is never touched) and baked.
Its own copy of weightline registers v1.0.0 and v1.1.0 and puts v1.0.0 in production. Then the
project is switched to the library as docs/manual.md says ("Upgrading a project made before
weightline 1.0"), and the library must read that history: ls, verify --all, diff, promote,
rollback, and reproduce v1.0.0.
"""

import io
import json
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from .project import TEMPLATE, Project, weightline
from .story import add_origin, set_in_yaml

pytestmark = pytest.mark.slow

VENDORED = "f75c5c9"  # the template's last commit with src/weightline inside the project


@pytest.fixture(scope="module")
def old_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("old-template")
    archive = subprocess.run(
        ["git", "archive", VENDORED], cwd=TEMPLATE, capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(where, filter="data")
    return where


def commit(project: Project, message: str) -> str:
    project.git("add", "--all")
    return project.run("git", "commit", "--quiet", "-m", message).stderr


def switch_to_the_library(project: Project) -> None:
    """docs/manual.md, "Upgrading a project made before weightline 1.0", steps 1, 2 and 4 (step
    3, reinstalling, is this suite's venv: the library is installed in it, editable)."""
    project.git("rm", "-r", "--quiet", "src/weightline")
    pyproject = project.path / "pyproject.toml"
    text = pyproject.read_text()
    text = text.replace("dependencies = [\n", 'dependencies = [\n    "weightline~=1.0",\n', 1)
    text = re.sub(r'\[project\.scripts\]\nweightline = "weightline\.cli:main"\n\n', "", text)
    pyproject.write_text(text)
    assert "weightline.cli:main" not in text
    assert commit(project, "Use the weightline library") == ""  # no manifest change: no version


def test_the_library_reads_a_vendored_projects_history(old_template: Path, tmp_path: Path):
    out = tmp_path / "out"
    subprocess.run(
        [sys.executable, "-m", "cookiecutter", "--no-input", "-o", str(out), str(old_template),
         f"dvc_remote={tmp_path / 'remote'}"],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    project = Project(out / "tumour-classifier", {"artifact_name": "model"})
    assert (project.path / "src/weightline/cli.py").exists(), "not the vendored layout"
    add_origin(project, tmp_path)

    # The old layout at work: its own copy of weightline (src/ first on PYTHONPATH) registers.
    project.dvc("repro")
    assert "registered model@v1.0.0" in commit(project, "Train the first model")
    set_in_yaml(project.path / "conf/model/logreg.yaml", "C", 0.5)
    project.dvc("repro")
    assert "registered model@v1.1.0" in commit(project, "Regularise harder")
    weightline(project, "push")
    weightline(project, "promote", "v1.0.0", "--to", "staging")
    weightline(project, "promote", "v1.0.0", "--to", "production")
    old_manifest = json.loads((project.path / "models/manifest.json").read_text())
    assert "task" not in old_manifest["signature"]

    switch_to_the_library(project)
    version = weightline(project, "--version").stdout
    assert "1.0" in version, version

    listed = weightline(project, "ls", "--json").stdout
    versions = {row["version"]: row for row in json.loads(listed)}
    assert set(versions) == {"v1.0.0", "v1.1.0"}
    verified = weightline(project, "verify", "--all")
    assert "ok" in verified.stdout, verified.stdout + verified.stderr
    diff = json.loads(weightline(project, "diff", "v1.0.0", "v1.1.0", "--json").stdout)
    assert "model.C" in json.dumps(diff["config"])
    assert not diff["signature"]["changed"]

    weightline(project, "promote", "v1.1.0", "--to", "staging")
    weightline(project, "promote", "v1.1.0", "--to", "production")
    weightline(project, "rollback", "production", "--reason", "back to the old version")
    holders = json.loads(weightline(project, "stages", "--json").stdout)
    held = {row["stage"]: row["version"] for row in holders}
    assert held["production"] == "v1.0.0" and held["staging"] == "v1.1.0", holders

    # An old version predicts through the library, in today's answer form.
    rows = project.path.parent / "rows.csv"
    holdout = (project.path / "data/holdout/holdout.csv").read_text().splitlines()
    header = holdout[0].split(",")
    target = header.index("target")
    rows.write_text(
        "\n".join(",".join(c for i, c in enumerate(line.split(",")) if i != target)
                  for line in holdout[:6])
        + "\n"
    )  # fmt: skip
    answers = weightline(project, "predict", "v1.0.0", "--input", str(rows), "--csv").stdout
    assert answers.splitlines()[0] == "label,probability_0,probability_1", answers

    reproduced = weightline(project, "reproduce", "v1.0.0", "--json")
    assert json.loads(reproduced.stdout)["verdict"] in ("bit-exact", "same metrics"), (
        reproduced.stdout
    )
