"""Fixtures: an isolated git and DVC set-up for the whole run, and a freshly baked project."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from .project import VENV_BIN, Project, bake, weightline
from .story import add_origin, train_and_commit


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


@pytest.fixture(scope="module")
def released_once(cookies_session, tmp_path_factory: pytest.TempPathFactory) -> Project:
    """v1.0.0 trained, registered, pushed (weights, then tag) to a directory remote and origin."""
    where = tmp_path_factory.mktemp("released")
    project = bake(cookies_session, where)
    train_and_commit(project, "Train the first model")
    add_origin(project, where)
    weightline(project, "push")
    return project


@pytest.fixture
def released(released_once: Project, tmp_path: Path) -> Project:
    """A copy of `released_once` of the test's own: training once per module is enough."""
    return released_once.copy(tmp_path / "project")


@pytest.fixture(scope="module")
def moto_port() -> Iterator[int]:
    """moto's real S3 API server on 127.0.0.1 (one per test module), its port."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    yield server.get_host_and_port()[1]
    server.stop()


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Test credentials in the environment, where DVC (and boto3) look for them."""
    for key, value in {
        "AWS_ACCESS_KEY_ID": "weightline-test",
        "AWS_SECRET_ACCESS_KEY": "weightline-secret",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
