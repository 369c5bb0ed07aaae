"""What a user does to a baked project, step by step: edit, train, commit, push (for real)."""

import json
import shutil
import subprocess
from pathlib import Path

import yaml

from .project import Project, weightline


def set_in_yaml(path: Path, key: str, value: object) -> None:
    data = yaml.safe_load(path.read_text())
    data[key] = value
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def drop_rows(project: Project, count: int) -> None:
    """Change the training data the way a user would: edit data/raw, then `dvc add`."""
    raw = project.path / "data/raw/breast_cancer.csv"
    lines = raw.read_text().splitlines(keepends=True)
    raw.unlink()  # DVC may have linked it read-only from the cache
    raw.write_text("".join(lines[: len(lines) - count]))
    project.dvc("add", "data/raw")


def train_and_commit(project: Project, message: str) -> str:
    """`dvc repro`, then a commit; returns what the post-commit hook said (on stderr)."""
    project.dvc("repro")
    project.git("add", "--all")
    return project.run("git", "commit", "--quiet", "-m", message).stderr


def manifest(project: Project) -> dict:
    return json.loads((project.path / "models/manifest.json").read_text())


def version_summary(project: Project, name: str) -> dict:
    message = project.git("tag", "-l", "--format=%(contents)", name)
    first, _, rest = message.partition("\n\n")
    assert first == f"Registering artifact {project.artifact} version {name.split('@')[1]}"
    return json.loads(rest)


def add_origin(project: Project, where: Path) -> Path:
    origin = where / "origin.git"
    subprocess.run(["git", "init", "--quiet", "--bare", str(origin)], check=True)
    project.git("remote", "add", "origin", str(origin))
    project.git("push", "--quiet", "origin", "main")
    return origin


def remote_tags(origin: Path) -> list[str]:
    out = subprocess.run(
        ["git", "for-each-ref", "--format=%(refname:strip=2)", "refs/tags"],
        cwd=origin,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return out.split()


def remove_dvc_data(project: Project) -> None:
    """As on a fresh clone: no DVC cache, no DVC-tracked files in the workspace."""
    shutil.rmtree(project.path / ".dvc/cache")
    for tracked in ("data/raw", "data/holdout", "data/prepared"):
        shutil.rmtree(project.path / tracked, ignore_errors=True)
    project.weights.unlink()


def commit_without_hook(project: Project, message: str) -> None:
    project.git("add", "--all")
    project.git("-c", "core.hooksPath=/dev/null", "commit", "--quiet", "-m", message)


def retrain(project: Project, c: float, message: str) -> None:
    """New weights (another regularisation strength), registered by the hook and pushed."""
    set_in_yaml(project.path / "conf/model/logreg.yaml", "C", c)
    assert "registered" in train_and_commit(project, message)
    weightline(project, "push")
