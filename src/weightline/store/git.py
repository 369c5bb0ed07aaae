"""The few git operations weightline needs, through the git command line (fast, and exact)."""

import os
import subprocess
from pathlib import Path

from weightline.errors import WeightlineError

ZERO = "0" * 40


def run(
    root: Path, *args: str, check: bool = True, stdin: str | None = None, env: dict | None = None
) -> str:
    done = subprocess.run(
        ["git", *args], cwd=root, capture_output=True, text=True, input=stdin, env=env
    )
    if check and done.returncode != 0:
        raise WeightlineError(f"`git {' '.join(args)}` failed: {done.stderr.strip()}")
    return done.stdout if done.returncode == 0 else ""


def head(root: Path) -> str:
    return run(root, "rev-parse", "--verify", "HEAD").strip()


def branch(root: Path) -> str:
    """The current branch, or "" on a detached HEAD."""
    return run(root, "symbolic-ref", "--quiet", "--short", "HEAD", check=False).strip()


def dirty_paths(root: Path) -> list[str]:
    """Tracked changes (staged or not) and untracked files that are not ignored."""
    out = run(root, "status", "--porcelain=v1", "--untracked-files=all")
    return [line[3:] for line in out.splitlines() if line]


def show(root: Path, commit: str, path: str) -> str | None:
    """The content of `path` at `commit`, or None if it is not there."""
    done = subprocess.run(
        ["git", "show", f"{commit}:{path}"], cwd=root, capture_output=True, text=True
    )
    return done.stdout if done.returncode == 0 else None


def show_bytes(root: Path, commit: str, path: str) -> bytes | None:
    done = subprocess.run(["git", "show", f"{commit}:{path}"], cwd=root, capture_output=True)
    return done.stdout if done.returncode == 0 else None


def changed_files(root: Path, commit: str) -> list[str]:
    """Files a commit changed (against its first parent; all files for a root commit)."""
    out = run(root, "diff-tree", "--root", "--no-commit-id", "--name-only", "-r", commit)
    return out.split()


def config(root: Path, key: str) -> str:
    return run(root, "config", key, check=False).strip()


def create_tag(
    root: Path, name: str, commit: str, message: str, timestamp: int | None = None
) -> None:
    """An annotated tag on the commit itself (never on another tag); fails if it exists.

    `timestamp` (Unix seconds) sets the tagger date, which GTO uses to order events.
    """
    env = None if timestamp is None else {**os.environ, "GIT_COMMITTER_DATE": f"@{timestamp} +0000"}
    command = ["tag", "--annotate", "--cleanup=whitespace", "--file=-", name, commit]
    run(root, *command, stdin=message, env=env)


def common_dir(root: Path) -> Path:
    """The shared .git directory (also right inside a linked worktree)."""
    return (root / run(root, "rev-parse", "--git-common-dir").strip()).resolve()
