"""The few git operations weightline needs, through the git command line (fast, and exact).

Output is decoded as UTF-8 with replacement: a tag message or a path is input from anyone who
can push, and invalid bytes must not stop a command.
"""

import os
import re
import subprocess
from pathlib import Path

from weightline.errors import ConfigurationError, NotFound, WeightlineError

ZERO = "0" * 40


class GitError(WeightlineError):
    """A git command that failed; `stderr` holds what git said."""

    def __init__(self, message: str, stderr: str = "") -> None:
        super().__init__(message)
        self.stderr = stderr


def run(
    root: Path,
    *args: str,
    check: bool = True,
    stdin: str | None = None,
    env: dict[str, str] | None = None,
) -> str:
    done = subprocess.run(
        ["git", *args],
        cwd=root,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        input=stdin,
        env=env,
    )
    if check and done.returncode != 0:
        raise GitError(f"`git {' '.join(args)}` failed: {done.stderr.strip()}", done.stderr)
    return done.stdout if done.returncode == 0 else ""


def head(root: Path) -> str:
    return run(root, "rev-parse", "--verify", "HEAD").strip()


def rev(root: Path, ref: str) -> str | None:
    """The commit a ref names, or None."""
    found = run(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
    return found.strip() or None


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
        ["git", "show", f"{commit}:{path}"],
        cwd=root,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
    )
    return done.stdout if done.returncode == 0 else None


def changed_files(root: Path, commit: str) -> list[str]:
    """Files a commit changed (against its first parent; all files for a root commit)."""
    out = run(root, "diff-tree", "--root", "--no-commit-id", "--name-only", "-r", commit)
    return out.splitlines()


def config(root: Path, key: str) -> str:
    return run(root, "config", key, check=False).strip()


_IDENT = re.compile(r"^(?P<name>.*?) <(?P<email>[^>]*)> \d+ [+-]\d{4}$")


def identity(root: Path) -> str:
    """`Name <email>` as git itself will record it (config or GIT_COMMITTER_* variables)."""
    done = subprocess.run(
        ["git", "var", "GIT_COMMITTER_IDENT"],
        cwd=root,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
    )
    match = _IDENT.match(done.stdout.strip())
    if done.returncode != 0 or not match or not match["name"]:
        raise ConfigurationError(
            "git has no identity to record: set user.name and user.email "
            "(git config user.name ...) or GIT_COMMITTER_NAME and GIT_COMMITTER_EMAIL"
        )
    return f"{match['name']} <{match['email']}>" if match["email"] else match["name"]


def create_tag(
    root: Path, name: str, commit: str, message: str, timestamp: int | None = None
) -> None:
    """An annotated tag on the commit itself (never on another tag); fails if it exists.

    `timestamp` (Unix seconds) sets the tagger date, which GTO uses to order events.
    """
    env = None if timestamp is None else {**os.environ, "GIT_COMMITTER_DATE": f"@{timestamp} +0000"}
    command = ["tag", "--annotate", "--cleanup=whitespace", "--file=-", name, commit]
    run(root, *command, stdin=message, env=env)


def delete_tag(root: Path, name: str) -> None:
    run(root, "tag", "--delete", name)


def common_dir(root: Path) -> Path:
    """The shared .git directory (also right inside a linked worktree)."""
    from weightline.store.gitrefs import common_git_dir

    found = common_git_dir(root)
    if found is not None:
        return found
    out = run(root, "rev-parse", "--git-common-dir", check=False).strip()
    if not out:
        raise NotFound(f"{root} is not inside a git repository")
    return (root / out).resolve()
