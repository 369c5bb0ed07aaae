"""The library as a distribution: one version, a wheel and sdist that twine accepts, typed."""

from __future__ import annotations

import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

from weightline import __version__

REPOSITORY = Path(__file__).resolve().parents[2]


def test_wheel_and_sdist_build_and_pass_twine(tmp_path: Path):
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(tmp_path), "."],
        cwd=REPOSITORY,
        check=True,
        capture_output=True,
    )
    wheel = tmp_path / f"weightline-{__version__}-py3-none-any.whl"
    sdist = tmp_path / f"weightline-{__version__}.tar.gz"
    assert wheel.exists() and sdist.exists()
    checked = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", str(wheel), str(sdist)],
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    names = zipfile.ZipFile(wheel).namelist()
    assert "weightline/py.typed" in names and "weightline/api.py" in names
    assert not [n for n in names if "cookiecutter" in n or n.startswith("tests/")]
    metadata = zipfile.ZipFile(wheel).read(f"weightline-{__version__}.dist-info/METADATA").decode()
    assert f"Version: {__version__}" in metadata and "Requires-Dist: dvc" in metadata
    entry_points = zipfile.ZipFile(wheel).read(
        f"weightline-{__version__}.dist-info/entry_points.txt"
    )
    assert b"weightline = weightline.cli:main" in entry_points
    with tarfile.open(sdist) as archive:
        members = archive.getnames()
    assert not [m for m in members if "cookiecutter" in m or "/tests/" in m]


def test_the_version_is_written_once_and_the_template_asks_for_it():
    from packaging.requirements import Requirement

    pyproject = tomllib.loads((REPOSITORY / "pyproject.toml").read_text())
    assert pyproject["project"]["dynamic"] == ["version"]
    changelog = (REPOSITORY / "CHANGELOG.md").read_text()
    assert f"## {__version__}" in changelog
    import json

    wanted = json.loads((REPOSITORY / "cookiecutter.json").read_text())["_weightline_version"]
    assert Requirement(f"weightline~={wanted}").specifier.contains(__version__)


def test_version_on_the_command_line():
    done = subprocess.run(
        [sys.executable, "-m", "weightline", "--version"], capture_output=True, text=True
    )
    assert done.stdout.strip() == f"weightline {__version__}"
