"""Fixtures: an isolated git and DVC set-up for the whole run, and a freshly baked project."""

import os
from pathlib import Path

import pytest

from .project import VENV_BIN, Project, bake


@pytest.fixture(autouse=True, scope="session")
def isolated_tools(tmp_path_factory: pytest.TempPathFactory) -> None:
    """A known git identity, no system git config, DVC's site cache in tmp and no analytics."""
    home = tmp_path_factory.mktemp("home")
    gitconfig = home / ".gitconfig"
    gitconfig.write_text(
        "[user]\n\tname = Test Runner\n\temail = runner@example.com\n"
        "[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n"
    )
    os.environ.update(
        GIT_CONFIG_GLOBAL=str(gitconfig),
        GIT_CONFIG_NOSYSTEM="1",
        DVC_NO_ANALYTICS="1",
        DVC_SITE_CACHE_DIR=str(home / "dvc-site"),
        PATH=f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}",
    )


@pytest.fixture
def baked(cookies, tmp_path: Path) -> Project:
    return bake(cookies, tmp_path)
