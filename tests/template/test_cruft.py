"""Template updates: a project records its template in .cruft.json, and `cruft update` brings a
later template commit in while the files the user owns stay theirs.

The template is copied into a git repository of its own (this checkout is never touched), baked
with plain cookiecutter at one commit, then changed in a later commit: a template-owned file
(the Makefile) and, to show the skip list at work, user-owned ones (the model code, a conf file).
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .project import TEMPLATE, VENV_BIN, Project

pytestmark = pytest.mark.slow

TEMPLATE_FILES = ("cookiecutter.json", "hooks", "local_extensions.py")
PROJECT_DIR = "{{cookiecutter.project_slug|no_slash}}"


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def cruft(project: Project, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return project.run(str(VENV_BIN / "cruft"), *args, check=check)


@pytest.fixture
def template_repo(tmp_path: Path) -> Path:
    """This template, as it is on disk, committed to a git repository of its own."""
    repo = tmp_path / "template"
    repo.mkdir()
    for name in (*TEMPLATE_FILES, PROJECT_DIR):
        source = TEMPLATE / name
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
        if source.is_dir():
            shutil.copytree(source, repo / name, ignore=ignore)
        else:
            shutil.copy2(source, repo / name)
    git(repo, "init", "--quiet", "-b", "main")
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "-m", "The template as it is")
    return repo


def test_cruft_update_brings_template_changes_and_leaves_the_users_files(
    template_repo: Path, tmp_path: Path
):
    out = tmp_path / "projects"
    subprocess.run(
        [sys.executable, "-m", "cookiecutter", "--no-input", "-o", str(out), str(template_repo),
         f"dvc_remote={tmp_path / 'remote'}"],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    project = Project(out / "tumour-classifier", {"artifact_name": "model"})
    baked_at = git(template_repo, "rev-parse", "HEAD")

    state = json.loads((project.path / ".cruft.json").read_text())
    assert (state["template"], state["commit"], state["directory"]) == (
        str(template_repo),
        baked_at,
        None,
    )
    answers = state["context"]["cookiecutter"]
    assert answers["framework"] == "sklearn" and answers["task"] == "binary"
    assert "_output_dir" not in answers and answers["_commit"] == baked_at
    assert state["skip"] == [
        "src/tumour_classifier", "tests", "conf", "data", "models", "reports",
        "dvc.lock", "requirements.lock",
    ]  # fmt: skip
    assert "up to date" in cruft(project, "check").stdout
    assert project.git("ls-files", ".cruft.json") == ".cruft.json"

    # The user's own work: their model code, a hyperparameter, a line in the README.
    model = project.path / "src/tumour_classifier/model.py"
    model.write_text(model.read_text() + "\n# our own change\n")
    logreg = project.path / "conf/model/logreg.yaml"
    logreg.write_text(logreg.read_text().replace("C: 1.0", "C: 0.3"))
    readme = project.path / "README.md"
    readme.write_text(readme.read_text() + "\nOur team's notes.\n")
    project.commit_all("Our own changes")

    # A later template commit changes the Makefile, and the same user-owned files.
    makefile = template_repo / PROJECT_DIR / "Makefile"
    makefile.write_text(makefile.read_text() + "\nhello: ## Say hello\n\t@echo hello\n")
    template_model = template_repo / PROJECT_DIR / "src/{{cookiecutter.package_name}}"
    for name in ("model_sklearn.py", "model_pytorch.py"):
        code = template_model / name
        code.write_text(code.read_text() + "\n# the template's later change\n")
    conf = template_repo / PROJECT_DIR / "conf/model/logreg.yaml"
    conf.write_text(conf.read_text().replace("C: 1.0", "C: 2.0"))
    git(template_repo, "commit", "--quiet", "-am", "A new make target")
    later = git(template_repo, "rev-parse", "HEAD")

    outdated = cruft(project, "check", check=False)
    assert outdated.returncode != 0 and "out of date" in outdated.stdout
    cruft(project, "update", "--skip-apply-ask")

    assert "hello: ## Say hello" in (project.path / "Makefile").read_text()
    assert "hello" in project.run("make", "help").stdout
    assert model.read_text().endswith("# our own change\n")
    assert "the template's later change" not in model.read_text()
    assert "C: 0.3" in logreg.read_text()
    assert readme.read_text().endswith("Our team's notes.\n")
    assert json.loads((project.path / ".cruft.json").read_text())["commit"] == later
    assert project.git("diff", "HEAD", "--name-only").split() == [".cruft.json", "Makefile"]
    assert project.git("ls-files", "--others", "--exclude-standard") == ""
    assert not list(project.path.rglob("*.rej")), "a change did not apply cleanly"
