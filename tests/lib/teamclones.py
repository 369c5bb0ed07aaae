"""Teams of clones: two or three copies of a micro project sharing one bare origin (with
weightline's server hook installed) and one DVC remote, as a team and its CI would.

The base project has v1.0.0 registered and pushed, and trained commits on side branches
(`train-1`, `train-2`, ...) with different weights, so a test can "train" by checking one out:
no training runs in a test.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from weightline import api

from .microproject import Micro, set_remote_url

SHRINKS = (0.1, 0.2, 0.3, 0.4)  # one trained commit each, on branches train-1 .. train-4


def trained_base(released: Micro, path: Path) -> Micro:
    """A copy of the released project with a trained commit per entry of SHRINKS."""
    base = released.copy(path)
    for number, shrink in enumerate(SHRINKS, start=1):
        base.git("checkout", "--quiet", "-B", f"train-{number}", "main")
        base.train(shrink, f"Shrink {shrink}")
    base.git("checkout", "--quiet", "main")
    base.checkout_outputs()
    return base


_BASES: dict[str, Micro] = {}


def shared_base(released: Micro, factory: pytest.TempPathFactory) -> Micro:
    """The trained base, made once per test process (training is the slow part)."""
    if "base" not in _BASES:
        _BASES["base"] = trained_base(released, factory.mktemp("team-base") / "project")
    return _BASES["base"]


@dataclass
class Team:
    origin: Path  # the bare repository every clone pushes to
    remote: Path  # the one DVC remote
    clones: list[Micro]

    def fresh_clone(self, path: Path) -> Path:
        """A new clone of the origin, as a teammate or a deployment would make (its DVC remote
        set to the team's in .dvc/config.local, as `make setup` would)."""
        subprocess.run(
            ["git", "clone", "--quiet", "--branch", "main", str(self.origin), str(path)],
            check=True,
            timeout=120,
        )
        set_remote_url(path, str(self.remote))
        return path

    def server_tags(self) -> dict[str, str]:
        """name -> object id of every tag on the origin."""
        out = subprocess.run(
            ["git", "for-each-ref", "--format=%(refname:strip=2) %(objectname)", "refs/tags/"],
            cwd=self.origin,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return dict(line.split(" ", 1) for line in out.splitlines())


def make_team(base: Micro, path: Path, size: int = 2) -> Team:
    """`size` independent clones of `base` sharing one origin (server hook installed) and one
    DVC remote."""
    first = base.copy(path / "a")
    origin, remote = path / "a-origin.git", path / "a-remote"
    api.install_server_hook(origin, str(remote))
    clones = [first]
    for name in "bcdefg"[: size - 1]:
        clone = base.copy(path / name)
        clone.git("remote", "set-url", "origin", str(origin))
        clone.set_remote_url(str(remote))
        shutil.rmtree(path / f"{name}-origin.git")
        shutil.rmtree(path / f"{name}-remote")
        clones.append(clone)
    return Team(origin, remote, clones)


def check_out(micro: Micro, branch: str) -> str:
    """Make a trained commit the clone's main (as if it had trained it); returns the commit."""
    micro.git("checkout", "--quiet", "-B", "main", branch)
    micro.checkout_outputs()
    return micro.git("rev-parse", "HEAD")


def gto_holders(clone: Path) -> dict[str, str]:
    """stage -> version, as `gto show` reads the clone's tags (stages nobody holds left out)."""
    done = subprocess.run(
        [str(Path(sys.executable).with_name("gto")), "show", "--json"],
        cwd=clone,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    stages = json.loads(done.stdout).get("model", {}).get("stage", {})
    return {stage: version for stage, version in stages.items() if version}


def weightline_holders(clone: Path) -> dict[str, str]:
    return api.stage_holders(root=clone)


def hook_pre_push(micro: Micro) -> None:
    """Install the project's pre-push hook the way the template's .githooks/pre-push runs it."""
    hook = micro.path / ".git" / "hooks" / "pre-push"
    hook.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m weightline hook pre-push "$@"\n')
    hook.chmod(0o755)
