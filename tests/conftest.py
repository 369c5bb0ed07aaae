"""Fixtures for every test: an isolated git and DVC set-up for the whole run."""

import os
import sys
from pathlib import Path

import pytest


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
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    )
