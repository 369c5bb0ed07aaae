"""Fixtures of the template's tests: a freshly baked project, a released one, an S3 server."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts.package_index import build_wheel, serving

from .project import Project, bake, weightline
from .story import add_origin, train_and_commit


@pytest.fixture
def baked(cookies, tmp_path: Path) -> Project:
    return bake(cookies, tmp_path)


@pytest.fixture(scope="session")
def trained_session(cookies_session, tmp_path_factory: pytest.TempPathFactory) -> Project:
    """The default project, trained, committed and registered as v1.0.0 by its post-commit hook.

    Built once per test process; fixtures take copies (`Project.copy`), never this one.
    """
    project = bake(cookies_session, tmp_path_factory.mktemp("trained"))
    said = train_and_commit(project, "Train the first model")
    assert "registered model@v1.0.0 (initial" in said, said
    return project


@pytest.fixture(scope="module")
def trained_once(trained_session: Project, tmp_path_factory: pytest.TempPathFactory) -> Project:
    """A copy of `trained_session` for one module's tests to build on."""
    return trained_session.copy(tmp_path_factory.mktemp("trained") / "project")


@pytest.fixture(scope="module")
def released_once(trained_once: Project) -> Project:
    """v1.0.0 pushed (weights, then tag) to a directory remote and a git origin."""
    add_origin(trained_once, trained_once.path.parent)
    weightline(trained_once, "push")
    return trained_once


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


@pytest.fixture(scope="session")
def package_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """This checkout's weightline wheel on a real index (pypiserver, 127.0.0.1): its URL.

    Every other package is redirected to the public index, as a company's internal index does.
    """
    packages = tmp_path_factory.mktemp("index")
    build_wheel(packages)
    with serving(packages) as url:
        yield url
