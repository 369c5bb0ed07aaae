"""The registry as a database at 1,000 and 10,000 versions, against baselines run alongside.

Builds synthetic repositories with `git fast-import`: every version is a real commit holding a real
manifest (the generated project's schema: config, metrics, data, signature, per-feature training
summary, environment) and a real annotated tag `model@vX.Y.Z` whose message is weightline's JSON
summary; stage tags `model#production#N` are mixed in. Then prints (targets in brackets):

  cold index build                    (no target; once, from nothing)
  warm `weightline query` / `git for-each-ref refs/tags/model@v*`   at 10,000   [<= 3x]
  `gto show` / `weightline ls`                                      at 1,000    [>= 20x]

Every command runs as a subprocess, as a user would run it; figures are medians.

    .venv/bin/python benchmarks/registry_scale.py [--sizes 1000 10000] [--rounds 7]
"""

import argparse
import hashlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from weightline.domain.semver import Version
from weightline.domain.tags import registration_message

TEMPLATE = Path(__file__).resolve().parents[1]
SRC = TEMPLATE / "src"

FEATURES = [
    f"{kind}_{name}"
    for kind in ("mean", "se", "worst")
    for name in (
        "radius", "texture", "perimeter", "area", "smoothness",
        "compactness", "concavity", "concave_points", "symmetry", "fractal_dimension",
    )
]  # fmt: skip
QUANTILES = (0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)
AUTHORS = ["Alice Martin", "Bob Chen", "Carla Diaz", "Dev Patel", "Eve Novak", "Femi Ade"]
PYPROJECT = """\
[project]
name = "bench"
version = "0.1.0"

[tool.weightline]
artifact = "model"
key_metrics = ["accuracy", "f1", "roc_auc"]
"""
DVC_YAML = """\
stages: {}
artifacts:
  model:
    path: models/model.safetensors
    type: model
"""


def feature_summary(rng: random.Random, shift: float) -> dict:
    center, spread = rng.uniform(1, 100) + shift, rng.uniform(0.5, 20)
    values = sorted(rng.gauss(center, spread) for _ in range(len(QUANTILES)))
    return {
        "count": 364,
        "missing": 0,
        "mean": round(center, 6),
        "std": round(spread, 6),
        "min": round(values[0] - spread, 6),
        "max": round(values[-1] + spread, 6),
        "quantiles": {f"{q:g}": round(v, 6) for q, v in zip(QUANTILES, values, strict=True)},
    }


def manifest(rng: random.Random, number: int, author: str, data_md5: str, c: float) -> dict:
    """A manifest with the generated project's schema and realistic sizes (~20 KB)."""
    accuracy = round(rng.uniform(0.80, 0.99), 6)
    weights = hashlib.sha256(f"weights {number}".encode()).hexdigest()
    return {
        "schema_version": 1,
        "artifact": "model",
        "weights": {
            "path": "models/model.safetensors",
            "sha256": weights,
            "md5": weights[:32],
            "size": 3832,
            "format": "safetensors",
        },
        "data": {
            "inputs": [
                {
                    "path": "data/prepared",
                    "md5": data_md5[::-1],
                    "size": 97755,
                    "nfiles": 2,
                    "rows": 455,
                },
                {"path": "data/raw", "md5": data_md5, "size": 97263, "nfiles": 1, "rows": 455},
            ],
            "holdout": {
                "path": "data/holdout",
                "md5": "b0d965ee807592c120ba932e57c92306.dir",
                "size": 24614,
                "nfiles": 1,
                "rows": 114,
            },
        },
        "config": {
            "data": {"raw": "data/raw/breast_cancer.csv", "target": "target", "val_fraction": 0.2},
            "model": {"C": c, "class_weight": None, "name": "logreg"},
            "seed": 42,
            "train": {"max_iter": 1000, "tol": 0.0001},
            "weights": "models/model.safetensors",
        },
        "metrics": {
            "accuracy": accuracy,
            "precision": round(rng.uniform(0.8, 1), 6),
            "recall": round(rng.uniform(0.8, 1), 6),
            "f1": round(accuracy + rng.uniform(-0.02, 0.02), 6),
            "roc_auc": round(min(accuracy + 0.02, 1.0), 6),
            "log_loss": round(rng.uniform(0.05, 0.3), 6),
        },
        "signature": {
            "schema_version": 1,
            "inputs": [
                {"name": f, "dtype": "float64", "shape": [-1], "nullable": False} for f in FEATURES
            ],
            "outputs": [
                {"name": "probability", "dtype": "float64", "shape": [-1], "nullable": False}
            ],
        },
        "training_data": {
            "rows": 364,
            "features": {f: feature_summary(rng, number / 1000) for f in FEATURES},
            "target": {"classes": {"0": 136, "1": 228}, "balance": {"0": 0.373626, "1": 0.626374}},
        },
        "code": {"commit": None, "branch": "main", "dirty": False, "changed": []},
        "environment": {
            "python": "3.11.7",
            "implementation": "CPython",
            "platform": "Linux-6.1-x86_64-with-glibc2.36",
            "machine": "x86_64",
            "packages": {"numpy": "2.4.6", "pandas": "3.1.1", "scikit-learn": "1.9.1"},
            "packages_count": 143,
            "packages_sha256": hashlib.sha256(b"packages").hexdigest(),
        },
        "run": {
            "user": author,
            "email": f"{author.split()[0].lower()}@example.com",
            "host": "trainer-1",
            "started": "2024-01-01T00:00:00+00:00",
            "ended": "2024-01-01T00:00:05+00:00",
            "duration_s": 5.0,
        },
    }


def data_block(payload: bytes) -> bytes:
    return b"data %d\n" % len(payload) + payload + b"\n"


def build(repo: Path, versions: int, seed: int = 7) -> None:
    """A repository with `versions` registered versions, via two `git fast-import` runs."""
    rng = random.Random(seed)
    subprocess.run(["git", "init", "--quiet", "-b", "main", str(repo)], check=True)
    start = int(time.time()) - versions * 3600
    stream, plans = [], []
    version = Version(1, 0, 0)
    data_md5, c = hashlib.md5(b"data 0").hexdigest() + ".dir", 1.0
    for number in range(versions):
        level = "initial"
        if number:
            level = rng.choices(["patch", "minor", "major"], [65, 32, 3])[0]
            version = version.bump(level)
            if level == "minor" and rng.random() < 0.5:
                data_md5 = hashlib.md5(f"data {number}".encode()).hexdigest() + ".dir"
            elif level == "minor":
                c = round(rng.choice([0.01, 0.05, 0.1, 0.5, 1.0, 2.0, 5.0]), 3)
        author = rng.choice(AUTHORS)
        when = start + number * 3600
        body = json.dumps(manifest(rng, number, author, data_md5, c), indent=2).encode() + b"\n"
        files = [("models/manifest.json", body)]
        if number == 0:
            files += [
                ("pyproject.toml", PYPROJECT.encode()),
                ("dvc.yaml", DVC_YAML.encode()),
                (".gitignore", b".weightline/\n"),
            ]
        commit = [
            b"commit refs/heads/main\n",
            b"mark :%d\n" % (number + 1),
            f"committer {author} <{author.split()[0].lower()}@example.com> {when} +0000\n".encode(),
            data_block(f"Train model {number}".encode()),
        ]
        commit += [
            b"M 100644 inline " + path.encode() + b"\n" + data_block(content)
            for path, content in files
        ]
        stream.append(b"".join(commit) + b"\n")
        plans.append((number + 1, version, level, author, when, body))
    marks = repo / ".git" / "bench-marks"
    fast_import(repo, b"".join(stream), "--export-marks=" + str(marks))
    commits = dict(line.split() for line in marks.read_text().splitlines())
    tags, stage_number, production = [], 0, None
    for mark, version, level, author, when, body in plans:
        commit = commits[f":{mark}"]
        m = json.loads(body)
        summary = {
            "commit": commit,
            "weights_sha256": m["weights"]["sha256"],
            "weights_md5": m["weights"]["md5"],
            "manifest_sha256": hashlib.sha256(body).hexdigest(),
            "data": {i["path"]: i["md5"] for i in m["data"]["inputs"]},
            "holdout_md5": m["data"]["holdout"]["md5"],
            "metrics": {k: m["metrics"][k] for k in ("accuracy", "f1", "roc_auc")},
            "bump": level,
            "reason": "synthetic",
        }
        email = f"{author.split()[0].lower()}@example.com"
        tagger = f"tagger {author} <{email}> {when + 60} +0000\n".encode()
        message = registration_message("model", version, summary).encode()
        tags.append(b"tag model@%s\nfrom %s\n" % (str(version).encode(), commit.encode()))
        tags.append(tagger + data_block(message))
        if mark % 25 == 0:  # now and then a promotion, as a team would do
            for stage in ("staging", "production") if mark % 50 == 0 else ("staging",):
                stage_number += 1
                event = {
                    "action": "promote",
                    "by": author,
                    "at": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(when + 120)),
                    "from_version": production if stage == "production" else None,
                    "reason": "synthetic",
                }
                text = (
                    f"Assigning stage {stage} to artifact model version {version}\n\n"
                    + json.dumps(event, sort_keys=True)
                    + "\n"
                )
                tags.append(
                    b"tag model#%s#%d\nfrom %s\n" % (stage.encode(), stage_number, commit.encode())
                )
                tags.append(
                    f"tagger {author} <{email}> {when + 120} +0000\n".encode()
                    + data_block(text.encode())
                )
                if stage == "production":
                    production = str(version)
    fast_import(repo, b"".join(tags))
    subprocess.run(["git", "pack-refs", "--all"], cwd=repo, check=True)  # as after a clone
    subprocess.run(["git", "checkout", "--quiet", "-f", "main"], cwd=repo, check=True)
    marks.unlink()


def fast_import(repo: Path, stream: bytes, *options: str) -> None:
    subprocess.run(["git", "fast-import", "--quiet", *options], cwd=repo, input=stream, check=True)


PYCACHE = Path(tempfile.gettempdir()) / "weightline-bench-pycache"
SOURCE = SRC  # --src may point elsewhere (say, a candidate change), to compare


def env() -> dict[str, str]:
    """The template's src on the path, with bytecode cached (outside the template), as installed."""
    bin_dir = str(Path(sys.executable).parent)
    values = {
        **os.environ,
        "PYTHONPATH": str(SOURCE),
        "PYTHONPYCACHEPREFIX": str(PYCACHE),
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "DVC_NO_ANALYTICS": "1",
    }
    values.pop("PYTHONDONTWRITEBYTECODE", None)
    return values


def timed(repo: Path, *command: str) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=repo, env=env(), capture_output=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"`{' '.join(command)}` failed:\n{done.stdout.decode()}{done.stderr.decode()}")
    return elapsed


def median(repo: Path, rounds: int, *command: str) -> float:
    return statistics.median(timed(repo, *command) for _ in range(rounds))


QUERY = ("--where", "metrics.accuracy > 0.85", "--limit", "20")


CONSOLE_SCRIPT = """#!{python}
# -*- coding: utf-8 -*-
import re
import sys
from weightline.cli import main
if __name__ == "__main__":
    sys.argv[0] = re.sub(r"(-script\\.pyw|\\.exe)?$", "", sys.argv[0])
    sys.exit(main())
"""  # what pip writes for [project.scripts] weightline = "weightline.cli:main"
SCRIPT = Path(tempfile.gettempdir()) / "weightline-bench-bin" / "weightline"


def weightline(*args: str) -> tuple[str, ...]:
    """The `weightline` command a user runs (the console script `make setup` installs)."""
    return (str(SCRIPT), *args)


def line(label: str, value: float, unit: str, note: str = "") -> None:
    figure = f"{value:8.3f} s" if unit == "s" else f"{value:8.2f} x"
    print(f"  {label:<58}{figure}{note}")


def measure(repo: Path, versions: int, rounds: int, with_gto: bool) -> None:
    shutil.rmtree(repo / ".weightline", ignore_errors=True)
    query = weightline("query", *QUERY)
    cold = timed(repo, *query)
    # The index trusts a stat() of git's ref storage once it has been quiet for 2 s (the usual
    # state: tags change seldom); right after a change it lists the refs with git instead.
    time.sleep(2.1)
    timed(repo, *query)
    tags_dir = repo / ".git" / "refs" / "tags"

    def touched() -> float:
        os.utime(tags_dir)  # as if a tag had just been written: the stat() is not trusted
        return timed(repo, *query)

    def floor() -> float:
        return timed(repo, "git", "for-each-ref", "refs/tags/model@v*")

    # Each side interleaved with the floor, so that noise on this machine hits both alike.
    quiet = [(timed(repo, *query), floor()) for _ in range(rounds)]
    fresh = [(touched(), floor()) for _ in range(rounds)]
    quiet_s, fresh_s = (statistics.median(t for t, _ in x) for x in (quiet, fresh))
    floor_s = statistics.median(f for x in (quiet, fresh) for _, f in x)
    target = "   [target <= 3x at 10,000]" if versions >= 10_000 else ""
    print(f"{versions:,} versions")
    line("cold index build (weightline query, no index yet)", cold, "s")
    line("warm weightline query (tags quiet for 2 s or more)", quiet_s, "s")
    line("warm weightline query (a ref just written: lists refs)", fresh_s, "s")
    line("git for-each-ref refs/tags/model@v* (the floor)", floor_s, "s")
    line("warm query / for-each-ref", quiet_s / floor_s, "x", target)
    line("warm query just after a ref change / for-each-ref", fresh_s / floor_s, "x")
    if with_gto:
        ls = median(repo, rounds, *weightline("ls"))
        gto = median(repo, max(1, rounds // 3), "gto", "show")
        line("weightline ls", ls, "s")
        line("gto show", gto, "s")
        line("gto show / weightline ls", gto / ls, "x", "   [target >= 20x]")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--src", type=Path, default=SRC, help="where weightline's package is")
    args = parser.parse_args()
    global SOURCE
    SOURCE = args.src.resolve()
    SCRIPT.parent.mkdir(parents=True, exist_ok=True)
    SCRIPT.write_text(CONSOLE_SCRIPT.format(python=sys.executable))
    SCRIPT.chmod(0o755)
    print(f"weightline from {SOURCE}, run as its console script, with {sys.executable}")
    root = Path(tempfile.mkdtemp(prefix="weightline-registry-"))
    try:
        for size in args.sizes:
            repo = root / f"repo-{size}"
            start = time.perf_counter()
            build(repo, size)
            built = time.perf_counter() - start
            tags = subprocess.run(
                ["git", "for-each-ref", "--count=999999", "--format=x", "refs/tags"],
                cwd=repo,
                capture_output=True,
                text=True,
            ).stdout.count("x")
            print(
                f"\nbuilt {repo.name}: {size:,} versions, {tags:,} tags in {built:.1f} s; ", end=""
            )
            measure(repo, size, args.rounds, with_gto=size <= 1000)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
