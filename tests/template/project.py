"""A baked project and the commands run in it, for real: git, DVC, Python on this suite's venv.

Baked projects run on this suite's own virtualenv (which holds every dependency a baked project
declares) with the project's src/ on PYTHONPATH, standing in for `pip install -e .`. One slow test
runs the real `make setup` instead.
"""

import hashlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from weightline.errors import EXIT_CODES as EXIT  # the documented exit code per error class

__all__ = ["EXIT", "Project", "bake", "sha256", "tags", "weightline"]

TEMPLATE = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


def sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


@dataclass
class Project:
    """A baked project directory and a way to run commands in it."""

    path: Path
    context: dict

    @property
    def package(self) -> str:
        return self.context["package_name"]

    @property
    def artifact(self) -> str:
        return self.context["artifact_name"]

    @property
    def weights(self) -> Path:
        return self.path / "models" / f"{self.artifact}.safetensors"

    def env(self, **extra: str) -> dict[str, str]:
        return {**os.environ, "PYTHONPATH": str(self.path / "src"), **extra}

    def run(
        self, *args: str, check: bool = True, env: dict | None = None, timeout: int = 900
    ) -> subprocess.CompletedProcess:
        """Run a command in the project; on an unexpected exit, fail with everything it printed."""
        done = subprocess.run(
            args,
            cwd=self.path,
            env=env or self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and done.returncode != 0:
            pytest.fail(
                f"`{' '.join(args)}` exited {done.returncode}\n{done.stdout}\n{done.stderr}"
            )
        return done

    def git(self, *args: str, check: bool = True) -> str:
        return self.run("git", *args, check=check).stdout.strip()

    def dvc(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return self.run("dvc", *args, check=check)

    def commit_all(self, message: str) -> str:
        self.git("add", "--all")
        self.git("commit", "--quiet", "-m", message)
        return self.git("rev-parse", "HEAD")

    def copy(self, destination: Path) -> "Project":
        """An independent copy (repo, DVC cache, directory remote, git origin) of a project.

        One bake can then serve many tests without one test's push showing up in another's remote.
        """
        shutil.copytree(self.path, destination, symlinks=True)
        context = dict(self.context)
        remote = Path(self.context["dvc_remote"])
        if remote.is_absolute():
            context["dvc_remote"] = str(destination.parent / f"{destination.name}-remote")
            if remote.exists():
                shutil.copytree(remote, context["dvc_remote"])
        copy = Project(destination, context)
        copy.dvc("remote", "modify", "--local", "storage", "url", context["dvc_remote"])
        origin = copy.git("remote", "get-url", "origin", check=False)
        if origin and Path(origin).is_dir():
            moved = destination.parent / f"{destination.name}-origin.git"
            shutil.copytree(origin, moved, symlinks=True)
            copy.git("remote", "set-url", "origin", str(moved))
        return copy


def bake(cookies, tmp_path: Path, **answers: str) -> Project:
    """Bake with a directory remote under tmp_path unless the answers name another."""
    answers.setdefault("dvc_remote", str(tmp_path / "remote"))
    result = cookies.bake(extra_context=answers)
    assert result.exit_code == 0, f"bake failed: {result.exception}"
    return Project(Path(result.project_path), result.context)


def weightline(project: Project, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """The generated project's `weightline` command (python -m, as the git hooks fall back to)."""
    return project.run("python", "-m", "weightline", *args, check=check)


def tags(project: Project) -> str:
    """Every tag with the object it names: equal before and after means nothing was touched."""
    return project.git("for-each-ref", "--format=%(refname) %(objectname)", "refs/tags")
