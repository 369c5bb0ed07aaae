"""Finish setting the repository up: git, DVC, its remote, the tracked data and the git hooks.

The template's post-generation hook runs this when cookiecutter's own Python has DVC; otherwise
`make setup` runs it from the project's virtualenv. Every step checks first and does only what is
missing, so running it again changes nothing. No step touches the network. A project made by
`cruft create` arrives without a git repository (cruft renders templates without their git
steps): the first step makes it, with the first commit.
"""

import contextlib
import io
import os
import subprocess
import sys
import tomllib
from pathlib import Path

PACKAGE = {{ cookiecutter.package_name | quoted }}
REMOTE_URL = {{ cookiecutter.dvc_remote | quoted }}
S3_ENDPOINT_URL = {{ cookiecutter.s3_endpoint_url | quoted }}
REMOTE_NAME = "storage"
# How DVC puts tracked files in the workspace (the manual, "Rollback speed"): "copy" gives each
# checkout its own bytes (a reflink where the filesystem can); "link" hardlinks or symlinks the
# read-only cache entry, so a rollback copies no bytes, whatever the weights weigh.
CACHE_TYPES = {"copy": "reflink,copy", "link": "reflink,hardlink,symlink"}
CACHE_TYPE = CACHE_TYPES[{{ cookiecutter.dvc_cache | quoted }}]
DATA = ["data/raw", "data/holdout"]
LOCK = "requirements.lock"
# src/ on the path lets this run before the project is installed (from cookiecutter's environment).
ENV = {
    **os.environ,
    "DVC_NO_ANALYTICS": "1",
    "PYTHONPATH": os.pathsep.join(
        filter(None, [str(Path("src").resolve()), os.getenv("PYTHONPATH")])
    ),
}


def run(*args: str, check: bool = True) -> str:
    """Run a command from the project root; fail loudly with its output (unless check=False)."""
    done = subprocess.run(args, capture_output=True, text=True, env=ENV)
    if check and done.returncode != 0:
        sys.exit(f"bootstrap: `{' '.join(args)}` failed:\n{done.stdout}{done.stderr}")
    return done.stdout.strip() if done.returncode == 0 else ""


def dvc(*args: str, check: bool = True) -> str:
    """DVC's own command line, run in this process (the environment running this script, whatever
    PATH says): starting a DVC process costs about half a second, and set-up takes eight steps.
    Its output is returned; its errors go to stderr as they would from `dvc`."""
    from dvc.cli import main as dvc_main

    os.environ["DVC_NO_ANALYTICS"] = "1"
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        code = dvc_main(list(args))
    if check and code != 0:
        sys.exit(f"bootstrap: `dvc {' '.join(args)}` failed (exit {code}); see its error above")
    return output.getvalue().strip() if code == 0 else ""


def git_config(key: str) -> str:
    return run("git", "config", key, check=False)


def identity() -> list[str]:
    """`-c user.name=... -c user.email=...` (the author in pyproject.toml) only when git has no
    identity of its own: a user's git config is never written."""
    if git_config("user.name") and git_config("user.email"):
        return []
    author = tomllib.loads(Path("pyproject.toml").read_text())["project"]["authors"][0]
    return ["-c", f"user.name={author['name']}", "-c", f"user.email={author['email']}"]


def init_git() -> None:
    if Path(".git").exists():
        return
    run("git", "init", "--quiet", "-b", "main")
    run("git", "add", "--all")
    message = "Generate project from the weightline template"
    run("git", *identity(), "commit", "--quiet", "-m", message)


def init_dvc() -> list[str]:
    if Path(".dvc/config").exists():
        return []
    dvc("init", "--quiet")
    dvc("config", "core.analytics", "false")
    dvc("config", "core.autostage", "true")
    dvc("config", "cache.type", CACHE_TYPE)
    with Path(".dvcignore").open("a") as ignore:  # tool caches must not change a stage's deps
        ignore.write("__pycache__/\n*.pyc\n.ruff_cache/\n.pytest_cache/\n.mypy_cache/\n")
    return [".dvc", ".dvcignore"]


def add_remote() -> list[str]:
    if dvc("remote", "default", check=False):
        return []
    dvc("remote", "add", "--default", REMOTE_NAME, REMOTE_URL)
    if S3_ENDPOINT_URL:
        dvc("remote", "modify", REMOTE_NAME, "endpointurl", S3_ENDPOINT_URL)
    return [".dvc/config"]


def track_data() -> list[str]:
    tracked = [f"{path}.dvc" for path in DATA]
    if all(Path(path).exists() for path in tracked):
        return []
    run(sys.executable, "-m", f"{PACKAGE}.demo")  # the example data and its hold-out set
    dvc("add", "--quiet", *DATA)
    return [*tracked, "data/.gitignore"]


def new_lock() -> list[str]:
    """The lock file that the first `make setup` wrote, until it is committed."""
    if not Path(LOCK).exists() or run("git", "ls-files", "--", LOCK):
        return []
    return [LOCK]


def install_hooks() -> list[str]:
    if git_config("core.hooksPath") != ".githooks":
        run("git", "config", "core.hooksPath", ".githooks")
    return []


def commit(paths: list[str], message: str) -> None:
    """Commit what the steps created, and nothing else, as the configured user or the author."""
    if not paths:
        return
    run("git", "add", "--", *paths)
    if not run("git", "diff", "--cached", "--name-only", "--", *paths):
        return
    run("git", *identity(), "commit", "--quiet", "-m", message, "--", *paths)


def main() -> None:
    if not Path("dvc.yaml").exists():
        sys.exit("bootstrap: run this from the project root (where dvc.yaml is)")
    init_git()
    created = init_dvc() + add_remote() + track_data() + install_hooks()
    commit(created, "Set up DVC: remote, tracked data")
    commit(new_lock(), f"Lock the environment: {LOCK}")
    print(f"bootstrap: DVC ready, default remote {dvc('remote', 'default')!r}")


if __name__ == "__main__":
    main()
