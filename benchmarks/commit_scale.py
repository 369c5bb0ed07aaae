"""A commit that registers a version, at 10 and at 10,000 versions, beside `dvc status`.

Two micro projects (tests/lib/microproject.py: real git, real DVC, a real pipeline whose training
is a NumPy nearest-centroid fit), one with 9 earlier versions and one with 9,999: real annotated
tags on commits holding manifests of the generated project's size, built with `git fast-import`
(benchmarks/registry_scale.py) and fetched in beside the project's own history. The project's
post-commit hook is the template's. Each round retrains (untimed: `dvc repro` with another config
value, `git add`), then times, in each project in turn, `git commit` (whose hook registers the new
version: the round fails if it did not) and `dvc status`. Prints medians and (targets in brackets):

  commit at 10,000 versions / commit at 10 versions     [<= 1.1x]
  commit at 10,000 versions / dvc status                [<= 1.5x]

`--src` takes several source trees (the code before a change and after it, say): each gets its
own pair of projects, measured in the same rounds.

    .venv/bin/python benchmarks/commit_scale.py [--sizes 10 10000] [--rounds 7] [--src src ...]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from registry_scale import CONSOLE_SCRIPT, SCRIPT, build, env, line

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.lib.microproject import create  # noqa: E402  (the repository root, just added)

HOOK = """#!/bin/sh
# The template's post-commit hook (.githooks/post-commit), with the benchmark's weightline.
git diff-tree --root --no-commit-id --name-only -r HEAD | grep -qx 'models/manifest.json' || exit 0
"{weightline}" hook post-commit
exit 0
"""


def project(path: Path, versions: int, source: Path) -> Path:
    """A micro project whose registry already holds `versions - 1` versions; returns its path
    after one real registration (untimed: it also pays for a first signature change)."""
    history = path.parent / f"{path.name}-history"
    build(history, versions - 1)
    micro = create(path)
    run(path, source, "git", "fetch", "--quiet", "--no-tags", str(history), "main:history")
    run(path, source, "git", "fetch", "--quiet", str(history), "refs/tags/*:refs/tags/*")
    run(path, source, "git", "pack-refs", "--all")  # as a clone has them; new tags stay loose
    shutil.rmtree(history)
    hooks = path / ".githooks"
    hooks.mkdir()
    (hooks / "post-commit").write_text(HOOK.format(weightline=SCRIPT))
    (hooks / "post-commit").chmod(0o755)
    micro.git("config", "core.hooksPath", ".githooks")
    retrain(path, source, 0.0)
    commit(path, source, "first real training")
    return path


def run(repo: Path, source: Path, *command: str) -> str:
    done = subprocess.run(
        command, cwd=repo, env={**env(source), **python_path(repo, source)}, capture_output=True
    )
    if done.returncode != 0:
        sys.exit(
            f"`{' '.join(command)}` failed in {repo}:\n{done.stdout.decode()}{done.stderr.decode()}"
        )
    return done.stdout.decode() + done.stderr.decode()


def python_path(repo: Path, source: Path) -> dict[str, str]:
    """The project's own src (its training code) and the weightline under test."""
    return {"PYTHONPATH": f"{repo / 'src'}:{source}"}


def retrain(repo: Path, source: Path, shrink: float) -> None:
    (repo / "conf" / "model.yaml").write_text(f"shrink: {shrink}\n")
    run(repo, source, sys.executable, "-m", "dvc", "repro", "--quiet")
    run(repo, source, "git", "add", "--all")


def commit(repo: Path, source: Path, message: str) -> float:
    """`git commit`, timed; its hook must have registered a version."""
    tags = run(repo, source, "git", "tag", "--list", "model@v*").count("\n")
    start = time.perf_counter()
    said = run(repo, source, "git", "commit", "--quiet", "-m", message)
    elapsed = time.perf_counter() - start
    if run(repo, source, "git", "tag", "--list", "model@v*").count("\n") != tags + 1:
        sys.exit(f"the post-commit hook did not register a version in {repo}:\n{said}")
    return elapsed


def status(repo: Path, source: Path) -> float:
    environment = {**python_path(repo, source)}
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "dvc", "status", "--quiet"],
        cwd=repo,
        env={**env(source), **environment},
        capture_output=True,
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"`dvc status` says the workspace changed in {repo}: {done.stdout.decode()}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs=2, default=[10, 10_000])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--src", type=Path, nargs="+", default=[ROOT / "src"])
    args = parser.parse_args()
    sources = [source.resolve() for source in args.src]
    SCRIPT.parent.mkdir(parents=True, exist_ok=True)
    SCRIPT.write_text(CONSOLE_SCRIPT.format(python=sys.executable))
    SCRIPT.chmod(0o755)
    root = Path(tempfile.mkdtemp(prefix="weightline-commit-"))
    small, large = args.sizes
    try:
        projects = {
            (source, size): project(root / f"p{i}-{size}", size, source)
            for i, source in enumerate(sources)
            for size in (small, large)
        }
        print(f"projects ready in {root}; {args.rounds} rounds")
        commits: dict[tuple[Path, int], list[float]] = {key: [] for key in projects}
        statuses: dict[tuple[Path, int], list[float]] = {key: [] for key in projects}
        for round_ in range(args.rounds):
            shrink = round(0.01 * (round_ + 1), 2)
            for key, repo in projects.items():
                retrain(repo, key[0], shrink)
            for key, repo in projects.items():  # interleaved: noise hits every project alike
                commits[key].append(commit(repo, key[0], f"retrain with shrink {shrink}"))
                statuses[key].append(status(repo, key[0]))
        for source in sources:
            print(f"\nweightline from {source}")
            c_small, c_large = (statistics.median(commits[(source, n)]) for n in (small, large))
            s_large = statistics.median(statuses[(source, large)])
            line(f"git commit + registration, {small:,} versions", c_small, "s")
            line(f"git commit + registration, {large:,} versions", c_large, "s")
            line(f"dvc status, {large:,} versions", s_large, "s")
            line(
                f"dvc status, {small:,} versions", statistics.median(statuses[(source, small)]), "s"
            )
            line(
                f"commit at {large:,} / commit at {small:,}",
                c_large / c_small,
                "x",
                "   [target <= 1.1x]",
            )
            line(f"commit at {large:,} / dvc status", c_large / s_large, "x", "   [target <= 1.5x]")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
