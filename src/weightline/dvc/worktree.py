"""A temporary git worktree at a commit, whose DVC reaches the user's cache and remotes.

Reproducing a version and running the gate both need a commit's own code, configuration and
data, never the user's working tree: a `git worktree` of that commit (the user's working tree,
index and HEAD are untouched), with DVC pointed at the user's cache (what is there need not be
downloaded) and remotes (local paths made absolute: relative ones would resolve elsewhere). The
worktree is removed afterwards, also when something fails.
"""

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from weightline.errors import RemoteUnavailable, WeightlineError

NO_HOOKS = ["git", "-c", "core.hooksPath=/dev/null"]  # the project's hooks would run DVC early


def run(args: list[str], cwd: Path, env: dict[str, str], what: str) -> str:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, errors="replace")
    if done.returncode != 0:
        output = (done.stdout + done.stderr).strip()
        raise WeightlineError(f"{what} failed in a temporary worktree:\n{output[-3000:]}")
    return done.stdout


def environment(tree: Path) -> dict[str, str]:
    """The commit's own source first on the path; this interpreter's tools on PATH."""
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(tree / "src"), os.getenv("PYTHONPATH")])),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "DVC_NO_ANALYTICS": "1",
    }


def prepare_dvc(root: Path, tree: Path) -> None:
    """Let DVC in the worktree reach what it reaches in the user's repository.

    Written through DVC's own configuration code in this process, as `dvc remote modify
    --local` and `dvc cache dir --local` would write it: a `dvc` process for each costs more
    than half a second, and the gate prepares a worktree on every promotion to production.
    """
    from dvc.config import Config

    from weightline.dvc.remote import absolute_locations

    local = root / ".dvc" / "config.local"
    if local.exists():  # credentials and local remotes; not in git, so not in the worktree
        shutil.copy2(local, tree / ".dvc" / "config.local")
    overrides = absolute_locations(root)
    cache = overrides.get("cache", {}).get("dir") or str((root / ".dvc" / "cache").resolve())
    try:
        with Config(dvc_dir=str(tree / ".dvc")).edit("local") as config:
            for name, remote in overrides.get("remote", {}).items():
                config["remote"].setdefault(name, {})["url"] = remote["url"]
            config["cache"]["dir"] = cache
    except Exception as error:  # DVC's config errors share no base class worth naming
        raise WeightlineError(
            f"cannot point DVC in a temporary worktree at {root}'s cache and remotes: {error}"
        ) from error


def pull(tree: Path, target: str, what: str) -> None:
    """`dvc pull <target>` in the worktree (from the user's cache, else the remote), in this
    process: one DVC import, not another interpreter."""
    from dvc.exceptions import DvcException

    from weightline.dvc.remote import repository

    with repository(tree) as repo:
        try:
            repo.pull(targets=[str(tree / target)])  # DVC reads targets from the cwd
        except DvcException as error:
            raise RemoteUnavailable(f"{what} failed: {error}") from error


@contextmanager
def worktree(root: Path, commit: str, prefix: str = "weightline-") -> Iterator[Path]:
    """A detached worktree of `commit` with DVC prepared; removed when the block ends."""
    scratch = Path(tempfile.mkdtemp(prefix=prefix))
    tree = scratch / "worktree"
    env = environment(tree)
    added = False
    try:
        run(
            [*NO_HOOKS, "worktree", "add", "--detach", str(tree), commit], root, env, "git worktree"
        )
        added = True
        prepare_dvc(root, tree)
        yield tree
    finally:
        if added:
            subprocess.run(
                [*NO_HOOKS, "worktree", "remove", "--force", str(tree)],
                cwd=root,
                capture_output=True,
            )
        shutil.rmtree(scratch, ignore_errors=True)
        subprocess.run(["git", "worktree", "prune"], cwd=root, capture_output=True)
