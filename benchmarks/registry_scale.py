"""The registry as a database at 1,000 and 10,000 versions, against baselines run alongside.

Builds synthetic repositories with `git fast-import`: every version is a real commit holding a real
manifest (the generated project's schema: config, metrics, data, signature, per-feature training
summary, environment) and a real annotated tag `model@vX.Y.Z` whose message is weightline's JSON
summary; stage tags `model#production#N` are mixed in. Then prints (targets in brackets):

  cold index build (no index yet)                                   at 10,000   [<= 3 s]
  index size per version (the tag objects' size beside it)         at 10,000   [<= 2 KiB]
  warm `weightline query` / `git for-each-ref refs/tags/model@v*`   at 10,000   [<= 3x]
  `gto show` / `weightline ls`                                      at 1,000    [>= 20x]
  `weightline resolve production`, `weightline show production`:
      time and peak memory at 10,000 / at 1,000                                 [<= 1.2x]

Every command runs as a subprocess, as a user would run it; figures are medians of rounds in which
everything compared is run in turn (this machine is shared: only side-by-side figures mean much).
`--src` takes several source trees (say, the code before a change and after it): each gets its own
copy of every repository and is measured in the same rounds as the others.

    .venv/bin/python benchmarks/registry_scale.py [--sizes 1000 10000] [--rounds 7]
        [--src src /tmp/old/src] [--keep DIR]

`--keep DIR` builds the repositories in DIR and leaves them there; a later run with the same DIR
reuses those already built (of the same size and source trees: delete DIR after changing this
file's repository generator), which saves minutes at 10,000 versions. Each run still starts from
a cold index.
"""

import argparse
import hashlib
import itertools
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


def env(source: Path) -> dict[str, str]:
    """A weightline source tree on the path, with bytecode cached (outside it), as installed."""
    bin_dir = str(Path(sys.executable).parent)
    values = {
        **os.environ,
        "PYTHONPATH": str(source),
        "PYTHONPYCACHEPREFIX": str(PYCACHE),
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "DVC_NO_ANALYTICS": "1",
    }
    values.pop("PYTHONDONTWRITEBYTECODE", None)
    return values


GNU_TIME = Path("/usr/bin/time")  # reports a command's own peak memory and CPU seconds


def measured(repo: Path, source: Path, *command: str) -> tuple[float, int, float]:
    """(seconds, peak resident memory in KiB, CPU seconds: user + system, with the git processes
    it ran) of one command, run as a subprocess. Through GNU time: a child forked from this
    (large) process would report this process's memory as its own peak."""
    with tempfile.NamedTemporaryFile() as report, tempfile.TemporaryFile() as output:
        wrapper = [str(GNU_TIME), "-f", "%M %U %S", "-o", report.name] if GNU_TIME.exists() else []
        start = time.perf_counter()
        done = subprocess.run(
            [*wrapper, *command], cwd=repo, env=env(source), stdout=output, stderr=subprocess.STDOUT
        )
        elapsed = time.perf_counter() - start
        if done.returncode != 0:
            output.seek(0)
            sys.exit(f"`{' '.join(command)}` failed in {repo}:\n{output.read().decode()}")
        figures = Path(report.name).read_text().split()[-3:] if wrapper else ["0", "0", "0"]
    return elapsed, int(figures[0]), float(figures[1]) + float(figures[2])


def timed(repo: Path, source: Path, *command: str) -> float:
    return measured(repo, source, *command)[0]


def timed_cpu(repo: Path, source: Path, *command: str) -> tuple[float, float]:
    elapsed, _, cpu = measured(repo, source, *command)
    return elapsed, cpu


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
    figure = {
        "s": f"{value:8.3f} s",
        "x": f"{value:8.2f} x",
        "KiB": f"{value:8.0f} KiB",
        "B": f"{value:8.0f} B",
    }[unit]
    print(f"  {label:<62}{figure}{note}")


def tag_bytes(repo: Path) -> int:
    """The size of every tag object in the repository (what the tags alone take in git)."""
    listing = subprocess.run(
        ["git", "cat-file", "--batch-check=%(objecttype) %(objectsize)", "--batch-all-objects"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return sum(
        int(size) for kind, size in (row.split() for row in listing.splitlines()) if kind == "tag"
    )


def measure(repos: dict[Path, Path], versions: int, rounds: int, with_gto: bool) -> None:
    """One size: each source tree on its own copy of the repository, in the same rounds."""
    floor_repo = next(iter(repos.values()))
    query = weightline("query", *QUERY)
    cold: dict[Path, list[tuple[float, float]]] = {source: [] for source in repos}
    for _ in range(max(1, rounds // 3)):
        for source, repo in repos.items():
            shutil.rmtree(repo / ".weightline", ignore_errors=True)
            cold[source].append(timed_cpu(repo, source, *query))
    # The index trusts a stat() of git's ref storage once it has been quiet for 2 s (the usual
    # state: tags change seldom); right after a change it lists the refs with git instead.
    time.sleep(2.1)
    for source, repo in repos.items():
        timed(repo, source, *query)

    def floor() -> float:
        return timed(floor_repo, Path(), "git", "for-each-ref", "refs/tags/model@v*")

    def touched(source: Path, repo: Path) -> float:
        os.utime(repo / ".git" / "refs" / "tags")  # as if a tag had just been written
        return timed(repo, source, *query)

    quiet: dict[Path, list[float]] = {source: [] for source in repos}
    fresh: dict[Path, list[float]] = {source: [] for source in repos}
    floors: list[float] = []
    for _ in range(rounds):  # everything interleaved, so noise on this machine hits all alike
        # Quiet means quiet: 2 s after the last round's touches (else "quiet" lists refs too),
        # and after the one query that finds the touched refs settled: it lists them once more
        # to record them as such (as costly as a query just after a ref change), then no query
        # lists them until a ref changes again.
        time.sleep(2.1)
        for source, repo in repos.items():
            timed(repo, source, *query)
        for source, repo in repos.items():
            quiet[source].append(timed(repo, source, *query))
            floors.append(floor())
        for source, repo in repos.items():
            fresh[source].append(touched(source, repo))
            floors.append(floor())
    floor_s = statistics.median(floors)
    tags = tag_bytes(floor_repo)
    print(f"\n{versions:,} versions ({tags / versions:.0f} bytes of tag objects per version)")
    line("git for-each-ref refs/tags/model@v* (the floor)", floor_s, "s")
    for source, repo in repos.items():
        size = (repo / ".weightline" / "index.sqlite").stat().st_size
        quiet_s, fresh_s = statistics.median(quiet[source]), statistics.median(fresh[source])
        big = versions >= 10_000
        print(f" {label_of(source)}")
        line(
            "cold index build (weightline query, no index yet)",
            statistics.median(t for t, _ in cold[source]),
            "s",
            "   [target <= 3 s]" if big else "",
        )
        line(
            "  its CPU time (user + system, weightline and git)",
            statistics.median(c for _, c in cold[source]),
            "s",
        )
        line(
            "index file, bytes per version",
            size / versions,
            "B",
            "   [target <= 2048]" if big else "",
        )
        line("warm weightline query (tags quiet for 2 s or more)", quiet_s, "s")
        line("warm weightline query (a ref just written: lists refs)", fresh_s, "s")
        line(
            "warm query / for-each-ref", quiet_s / floor_s, "x", "   [target <= 3x]" if big else ""
        )
        line("warm query just after a ref change / for-each-ref", fresh_s / floor_s, "x")
    if with_gto:
        ls = {source: [] for source in repos}
        gto: list[float] = []
        for round_ in range(rounds):
            for source, repo in repos.items():
                ls[source].append(timed(repo, source, *weightline("ls")))
            if round_ < max(1, rounds // 3):
                gto.append(timed(floor_repo, Path(), "gto", "show"))
        gto_s = statistics.median(gto)
        line("gto show", gto_s, "s")
        for source in repos:
            ls_s = statistics.median(ls[source])
            print(f" {label_of(source)}")
            line("weightline ls", ls_s, "s")
            line("gto show / weightline ls", gto_s / ls_s, "x", "   [target >= 20x]")


def lookups(
    small: dict[Path, Path], large: dict[Path, Path], sizes: tuple[int, int], rounds: int
) -> None:
    """`resolve production` and `show production` on the large repository against the small one,
    interleaved: time and peak memory should not grow with the registry."""
    commands = {
        "resolve production": weightline("resolve", "production"),
        "show production": weightline("show", "production"),
    }
    figures: dict[tuple[Path, str, int], list[tuple[float, int, float]]] = {}
    for source in small:  # warm: both indexes built and quiet
        timed(small[source], source, *weightline("ls"))
        timed(large[source], source, *weightline("ls"))
    time.sleep(2.1)
    for _ in range(rounds):
        for source, (name, command), size in itertools.product(small, commands.items(), sizes):
            repo = (small if size == sizes[0] else large)[source]
            figures.setdefault((source, name, size), []).append(measured(repo, source, *command))
    print(f"\nsingle-version lookups, {sizes[1]:,} against {sizes[0]:,} versions (warm index)")
    for source in small:
        print(f" {label_of(source)}")
        for name in commands:
            small_s, large_s = (
                statistics.median(f[0] for f in figures[(source, name, n)]) for n in sizes
            )
            small_m, large_m = (
                statistics.median(f[1] for f in figures[(source, name, n)]) for n in sizes
            )
            line(f"weightline {name} at {sizes[0]:,}", small_s, "s")
            line(f"weightline {name} at {sizes[1]:,}", large_s, "s")
            line(
                f"  time at {sizes[1]:,} / at {sizes[0]:,}",
                large_s / small_s,
                "x",
                "   [target <= 1.2x]",
            )
            line(f"  peak memory at {sizes[0]:,}", small_m, "KiB")
            line(f"  peak memory at {sizes[1]:,}", large_m, "KiB")
            line(
                f"  peak memory at {sizes[1]:,} / at {sizes[0]:,}",
                large_m / small_m,
                "x",
                "   [flat]",
            )


def machine_speed() -> str:
    """How fast this (shared) machine is now: SHA-256 of 256 MiB in memory, the median of three.
    On the machine of shared/FACTS.md, hashlib ran at 1.59 GB/s: absolute figures (a cold build
    in seconds) scale roughly with this one."""
    data = bytes(256 << 20)
    runs = []
    for _ in range(3):
        start = time.perf_counter()
        hashlib.sha256(data).digest()
        runs.append(time.perf_counter() - start)
    return f"this machine now: SHA-256 at {len(data) / statistics.median(runs) / 1e9:.2f} GB/s"


LABELS: dict[Path, str] = {}
BUILT = ".git/weightline-bench-built"  # written once a repository is complete (for --keep)


def label_of(source: Path) -> str:
    return LABELS.get(source, str(source))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument(
        "--src",
        type=Path,
        nargs="+",
        default=[SRC],
        help="where weightline's package is (several: compared)",
    )
    parser.add_argument(
        "--keep",
        type=Path,
        metavar="DIR",
        help="build the repositories in DIR, keep them, and reuse those already there",
    )
    args = parser.parse_args()
    sources = [source.resolve() for source in args.src]
    for source in sources:
        LABELS[source] = f"weightline from {source}"
    SCRIPT.parent.mkdir(parents=True, exist_ok=True)
    SCRIPT.write_text(CONSOLE_SCRIPT.format(python=sys.executable))
    SCRIPT.chmod(0o755)
    print(f"weightline run as its console script, with {sys.executable}; {machine_speed()}")
    if args.keep:
        root = args.keep.resolve()
        root.mkdir(parents=True, exist_ok=True)
    else:
        root = Path(tempfile.mkdtemp(prefix="weightline-registry-"))
    try:
        built: dict[int, dict[Path, Path]] = {}
        for size in args.sizes:
            repo = root / f"repo-{size}"
            if (repo / BUILT).exists():  # by an earlier run with --keep
                print(f"reusing {repo}: {size:,} versions")
            else:
                shutil.rmtree(repo, ignore_errors=True)  # a build cut short
                start = time.perf_counter()
                build(repo, size)
                print(
                    f"built {repo.name}: {size:,} versions in {time.perf_counter() - start:.1f} s"
                )
                (repo / BUILT).touch()
            built[size] = {sources[0]: repo}
            for i, source in enumerate(sources[1:], 1):  # each tree keeps its own index
                copy = root / f"repo-{size}-{i}"
                if not (copy / BUILT).exists():
                    shutil.rmtree(copy, ignore_errors=True)
                    shutil.copytree(repo, copy, symlinks=True)
                built[size][source] = copy
        for size in args.sizes:
            measure(built[size], size, args.rounds, with_gto=size <= 1000)
        if len(args.sizes) >= 2:
            small, large = sorted(args.sizes)[0], sorted(args.sizes)[-1]
            lookups(built[small], built[large], (small, large), args.rounds)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
