"""Set-up without DVC where cookiecutter runs (pipx-style), finished by the real `make setup`,
which locks the whole environment (requirements.lock, with hashes) and installs exactly that."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from .project import TEMPLATE, Project

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def bare_cookiecutter(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtualenv with cookiecutter and nothing else, like `pipx run cookiecutter`."""
    venv = tmp_path_factory.mktemp("bare") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(venv / "bin/python"), "-m", "pip", "install", "--quiet", "cookiecutter>=2.6,<3"],
        check=True,
    )
    done = subprocess.run([str(venv / "bin/python"), "-c", "import dvc"], capture_output=True)
    assert done.returncode != 0, "the bare venv should not have dvc"
    return venv / "bin/cookiecutter"


def test_bake_without_dvc_then_make_setup_finishes_idempotently(
    bare_cookiecutter, tmp_path, package_index
):
    out = tmp_path / "out"
    done = subprocess.run(
        [str(bare_cookiecutter), "--no-input", "-o", str(out), str(TEMPLATE),
         f"dvc_remote={tmp_path / 'remote'}"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "make setup" in done.stdout
    project = Project(out / "tumour-classifier", {"artifact_name": "model"})
    assert not (project.path / ".dvc").exists()
    assert project.git("log", "--format=%s").splitlines() == [
        "Generate project from the weightline template"
    ]

    env = project.env()
    env.pop("PYTHONPATH")  # the project's own venv, nothing borrowed from this suite
    env["PIP_INDEX_URL"] = package_index  # weightline from a real index, as the README says
    project.run("make", "setup", env=env)
    assert project.git("log", "-2", "--format=%s").splitlines() == [
        "Lock the environment: requirements.lock",
        "Set up DVC: remote, tracked data",
    ]
    assert (project.path / ".dvc/config").exists() and (project.path / "data/raw.dvc").exists()
    assert project.git("status", "--porcelain") == ""
    lock = (project.path / "requirements.lock").read_text()
    pins = re.findall(r"^([A-Za-z0-9_.-]+)==(\S+) \\\n    --hash=sha256:[0-9a-f]{64}$", lock, re.M)
    pinned = {name.lower(): version for name, version in pins}
    assert len(pins) == lock.count("==") > 50, "every package pinned, each with its SHA-256"
    assert pinned["weightline"] == weightline_version()  # the wheel the test index serves
    assert {"dvc", "scikit-learn", "pytest", "ruff"} <= pinned.keys()
    installed = project.run(".venv/bin/python", "-m", "pip", "freeze", env=env).stdout
    assert f"scikit-learn=={pinned['scikit-learn']}" in installed

    head = project.git("rev-parse", "HEAD")
    project.run("make", "setup", env=env)
    assert project.git("rev-parse", "HEAD") == head, "a second `make setup` committed again"
    project.run("make", "lock", env=env)
    assert project.git("status", "--porcelain") == "", "`make lock` of the same inputs differs"

    project.run("make", "train", env=env)
    project.run("make", "test", env=env)
    assert project.weights.exists()
    project.git("add", "--all")
    hook = project.run("git", "commit", "-m", "Train", env=env).stderr
    assert "registered model@v1.0.0" in hook  # the hook found .venv/bin/weightline
    assert "v1.0.0" in project.run(".venv/bin/weightline", "ls", env=env).stdout
    assert "make setup" in project.run("make", "help", env=env).stdout


def weightline_version() -> str:
    namespace: dict[str, str] = {}
    exec((TEMPLATE / "src/weightline/_version.py").read_text(), namespace)
    return namespace["__version__"]


def test_make_demo_trains_and_commits(tmp_path):
    done = subprocess.run(
        [sys.executable, str(TEMPLATE / "scripts/demo.py"), "--build", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "accuracy" in done.stdout and "dvc exp run" in done.stdout
    demo = Project(tmp_path / "demo", {"artifact_name": "model"})
    assert demo.git("log", "-1", "--format=%s") == "Train the first model"
    assert demo.git("status", "--porcelain") == ""
    assert demo.git("tag", "--points-at", "HEAD") == "model@v1.0.0"
    assert "v1.0.0" in done.stdout  # `weightline ls`
    assert any((tmp_path / "demo-dvc-storage").rglob("*")), "dvc push sent nothing"
