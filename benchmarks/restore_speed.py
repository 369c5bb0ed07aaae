"""Rolling back and deploying 1 GiB of weights, against `git checkout` + `dvc pull` and `cp`.

A real git + DVC project with two versions whose weights are 1 GiB each (a pipeline stage writes
them; `dvc repro` puts them in the DVC cache, `dvc push` on a directory remote; a manifest and an
annotated version tag as registration writes them) and the template's post-checkout hook. For each
DVC cache type asked for (`copy` is DVC's default on a filesystem without reflinks, such as ext4;
`hardlink` and `symlink` are the link types, with DVC's read-only protected cache), every round
times, in turn (medians; targets in brackets):

  weightline checkout vX (switching from the other version, warm cache)
  git checkout vX + dvc pull, the same switch (hooks off: the two commands alone)
  cp of the weights file
  weightline get vX -o <new directory> (warm cache)

and prints  checkout / (git checkout + dvc pull)  [<= 1.2x]  for every cache type,
            checkout with a link cache type / cp   [<= 0.3x],
            get / cp                               [<= 1.2x].

The first checkout and get of each version (which hash the cache's copy once) are not timed.
`--src` takes several source trees, measured in the same rounds on the same project.

    .venv/bin/python benchmarks/restore_speed.py [--size-mib 1024] [--rounds 5]
        [--cache-types copy hardlink symlink] [--src src ...]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from registry_scale import CONSOLE_SCRIPT, PYPROJECT, SCRIPT, env, line

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE_HOOK = ROOT / "{{cookiecutter.project_slug|no_slash}}" / ".githooks" / "post-checkout"
DVC_YAML = """\
stages:
  weights:
    cmd: python make_weights.py
    deps: [make_weights.py, seed.txt]
    outs: [models/model.safetensors]
artifacts:
  model:
    path: models/model.safetensors
    type: model
"""
MAKE_WEIGHTS = """\
import hashlib
from pathlib import Path

seed = Path("seed.txt").read_text().strip().encode()
mib = {size_mib}
block = hashlib.sha256(seed).digest() * (1 << 15)  # 1 MiB
Path("models").mkdir(exist_ok=True)
with open("models/model.safetensors", "wb") as out:
    for i in range(mib):
        out.write(i.to_bytes(8, "little") + block[8:])
"""


def sh(repo: Path, source: Path, *command: str) -> str:
    done = subprocess.run(command, cwd=repo, env=env(source), capture_output=True)
    if done.returncode != 0:
        sys.exit(f"`{' '.join(command)}` failed:\n{done.stdout.decode()}{done.stderr.decode()}")
    return done.stdout.decode()


def timed(repo: Path, source: Path, *command: str) -> float:
    """Seconds of one command, started with no dirty pages left by the one before it: each
    writes a GiB, and the kernel writing back the last one would slow down the next."""
    os.sync()
    start = time.perf_counter()
    sh(repo, source, *command)
    return time.perf_counter() - start


def dvc(*args: str) -> tuple[str, ...]:
    return (sys.executable, "-m", "dvc", *args)


def project(path: Path, size_mib: int, source: Path) -> dict[str, str]:
    """The project with versions v1.0.0 and v1.1.0; returns version -> the cache file of its
    weights."""
    path.mkdir(parents=True)
    sh(path, source, "git", "init", "--quiet", "-b", "main")
    for name, text in {
        "pyproject.toml": PYPROJECT,
        "dvc.yaml": DVC_YAML,
        "make_weights.py": MAKE_WEIGHTS.format(size_mib=size_mib),
        ".gitignore": ".weightline/\n",
    }.items():
        (path / name).write_text(text)
    hooks = path / ".githooks"
    hooks.mkdir()
    shutil.copy(TEMPLATE_HOOK, hooks / "post-checkout")
    (hooks / "post-checkout").chmod(0o755)
    sh(path, source, "git", "config", "core.hooksPath", ".githooks")
    sh(path, source, *dvc("init", "--quiet"))
    sh(path, source, *dvc("config", "core.analytics", "false"))
    remote = path.parent / f"{path.name}-remote"
    sh(path, source, *dvc("remote", "add", "--default", "storage", str(remote)))
    caches = {}
    for version in ("v1.0.0", "v1.1.0"):
        (path / "seed.txt").write_text(version + "\n")
        sh(path, source, *dvc("repro", "--quiet"))
        md5, size = weights_entry(path)
        with (path / "models" / "model.safetensors").open("rb") as handle:
            sha256 = hashlib.file_digest(handle, "sha256").hexdigest()
        write_manifest(path, md5, size, sha256)
        sh(path, source, "git", "add", "--all")
        sh(path, source, "git", "commit", "--quiet", "-m", f"weights {version}", "--no-verify")
        commit = sh(path, source, "git", "rev-parse", "HEAD").strip()
        summary = {"commit": commit, "weights_md5": md5, "weights_sha256": sha256, "bump": "minor"}
        message = f"Registering artifact model version {version}\n\n{json.dumps(summary)}\n"
        sh(path, source, "git", "tag", "--annotate", "--message", message, f"model@{version}")
        caches[version] = str(path / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:])
        sh(path, source, *dvc("push", "--quiet"))  # every version on the remote, as after CI
    return caches


def weights_entry(path: Path) -> tuple[str, int]:
    import yaml

    lock = yaml.safe_load((path / "dvc.lock").read_text())
    (out,) = lock["stages"]["weights"]["outs"]
    return out["md5"], int(out["size"])


def write_manifest(path: Path, md5: str, size: int, sha256: str) -> None:
    manifest = {
        "schema_version": 1,
        "artifact": "model",
        "weights": {
            "path": "models/model.safetensors",
            "sha256": sha256,
            "md5": md5,
            "size": size,
            "format": "safetensors",
        },
        "data": {"inputs": [], "holdout": None},
        "config": {},
        "metrics": {},
        "signature": {"schema_version": 1, "inputs": [], "outputs": []},
    }
    (path / "models" / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")


def weightline(*args: str) -> tuple[str, ...]:
    return (str(SCRIPT), *args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--cache-types", nargs="+", default=["copy", "hardlink", "symlink"])
    parser.add_argument("--src", type=Path, nargs="+", default=[ROOT / "src"])
    args = parser.parse_args()
    sources = [source.resolve() for source in args.src]
    SCRIPT.parent.mkdir(parents=True, exist_ok=True)
    SCRIPT.write_text(CONSOLE_SCRIPT.format(python=sys.executable))
    SCRIPT.chmod(0o755)
    root = Path(tempfile.mkdtemp(prefix="weightline-restore-"))
    try:
        repo = root / "project"
        start = time.perf_counter()
        caches = project(repo, args.size_mib, sources[0])
        print(
            f"project with two {args.size_mib} MiB versions in {time.perf_counter() - start:.0f} s"
        )
        for cache_type in args.cache_types:
            measure(repo, root, caches, cache_type, sources, args.rounds)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def measure(
    repo: Path,
    root: Path,
    caches: dict[str, str],
    cache_type: str,
    sources: list[Path],
    rounds: int,
) -> None:
    any_source = sources[0]
    sh(repo, any_source, *dvc("config", "--local", "cache.type", cache_type))
    sh(repo, any_source, *dvc("checkout", "--quiet", "--relink"))
    versions = list(caches)
    outputs = root / "outputs"

    def get(source: Path, version: str) -> float:
        shutil.rmtree(outputs, ignore_errors=True)
        spent = timed(repo, source, *weightline("get", version, "-o", str(outputs)))
        shutil.rmtree(outputs)
        return spent

    def baseline(version: str) -> float:
        return timed(
            repo,
            any_source,
            "git",
            "-c",
            "core.hooksPath=/dev/null",
            "checkout",
            "--quiet",
            "--detach",
            f"model@{version}",
        ) + timed(repo, any_source, *dvc("pull", "--quiet"))

    def copy(version: str) -> float:
        target = root / "copied"
        spent = timed(repo, any_source, "cp", caches[version], str(target))
        target.unlink()
        return spent

    for source in sources:  # untimed: each version's cache copy is verified once
        for version in versions:
            sh(repo, source, *weightline("checkout", version))
            get(source, version)
    checkouts: dict[Path, list[float]] = {source: [] for source in sources}
    gets: dict[Path, list[float]] = {source: [] for source in sources}
    bases: list[float] = []
    copies: list[float] = []
    for _ in range(rounds):
        for version in versions:  # each checkout switches from the other version
            bases.append(baseline(version))
            copies.append(copy(version))
            for source in sources:
                sh(repo, source, *weightline("ls"))  # its own index schema, untimed
                sh(repo, source, *weightline("checkout", versions[1 - versions.index(version)]))
                checkouts[source].append(timed(repo, source, *weightline("checkout", version)))
                gets[source].append(get(source, version))
    base, cp = statistics.median(bases), statistics.median(copies)
    link = cache_type != "copy"
    print(f"\ncache.type {cache_type}")
    line("git checkout + dvc pull (hooks off)", base, "s")
    line("cp of the weights file", cp, "s")
    for source in sources:
        checkout, fetched = statistics.median(checkouts[source]), statistics.median(gets[source])
        print(f" weightline from {source}")
        line("weightline checkout", checkout, "s")
        line("weightline get (warm cache)", fetched, "s")
        line("checkout / (git checkout + dvc pull)", checkout / base, "x", "   [target <= 1.2x]")
        line("checkout / cp", checkout / cp, "x", "   [target <= 0.3x]" if link else "")
        line("get / cp", fetched / cp, "x", "   [target <= 1.2x]")


if __name__ == "__main__":
    main()
