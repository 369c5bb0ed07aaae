"""Fixtures of the library's fast tier: micro projects (tests/lib/microproject.py), no bake."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from weightline import api

from .microproject import Micro, add_origin, create


@pytest.fixture(scope="session")
def micro_released(tmp_path_factory: pytest.TempPathFactory) -> Micro:
    """v1.0.0 registered and pushed (weights to the directory remote, tag to a bare origin)."""
    micro = create(tmp_path_factory.mktemp("micro") / "project")
    micro.train(0.0, "Train the first model")
    api.register(root=micro.path)
    add_origin(micro)
    api.push(root=micro.path)
    return micro


@pytest.fixture(scope="session")
def micro_two(micro_released: Micro, tmp_path_factory: pytest.TempPathFactory) -> Micro:
    """The released project plus v1.1.0 (another config), registered but not pushed."""
    micro = micro_released.copy(tmp_path_factory.mktemp("micro-two") / "project")
    micro.train(0.05, "Shrink the centroids a little")
    api.register(root=micro.path)
    return micro


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
