"""Fixtures of the library's fast tier: micro projects (tests/lib/microproject.py), no bake."""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from weightline import api

from .microproject import Micro, add_origin, create


def built_once(name: str, factory: pytest.TempPathFactory, build: Callable[[Path], Micro]) -> Micro:
    """A project every test process of this run shares, built by whichever asks first.

    Under pytest-xdist each worker has its own temporary directory; their parent is the run's.
    The project is only ever copied, never changed, so one build serves every worker.
    """
    shared = factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent
    path = shared / name / "project"
    with (shared / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the others wait for the first build
        if not (shared / name / "built").exists():
            shutil.rmtree(shared / name, ignore_errors=True)
            path.parent.mkdir(parents=True)  # the build makes the project itself
            build(path)
            (shared / name / "built").touch()
    return Micro(path, path.parent / f"{path.name}-remote")


@pytest.fixture(scope="session")
def micro_released(tmp_path_factory: pytest.TempPathFactory) -> Micro:
    """v1.0.0 registered and pushed (weights to the directory remote, tag to a bare origin)."""

    def build(path: Path) -> Micro:
        micro = create(path)
        micro.train(0.0, "Train the first model")
        api.register(root=micro.path)
        add_origin(micro)
        api.push(root=micro.path)
        return micro

    return built_once("micro-released", tmp_path_factory, build)


@pytest.fixture(scope="session")
def micro_two(micro_released: Micro, tmp_path_factory: pytest.TempPathFactory) -> Micro:
    """The released project plus v1.1.0 (another config), registered but not pushed."""

    def build(path: Path) -> Micro:
        micro = micro_released.copy(path)
        micro.train(0.05, "Shrink the centroids a little")
        api.register(root=micro.path)
        return micro

    return built_once("micro-two", tmp_path_factory, build)


@pytest.fixture
def released(micro_released: Micro, tmp_path: Path) -> Micro:
    return micro_released.copy(tmp_path / "project")


@pytest.fixture
def two(micro_two: Micro, tmp_path: Path) -> Micro:
    return micro_two.copy(tmp_path / "project")


@pytest.fixture
def fresh(tmp_path: Path) -> Micro:
    """A micro project with no version yet."""
    return create(tmp_path / "project")


@pytest.fixture
def inside(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Run in a project's directory, as the command line does."""

    def enter(micro: Micro) -> Micro:
        monkeypatch.chdir(micro.path)
        monkeypatch.syspath_prepend(str(micro.path / "src"))
        return micro

    return enter


def remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
