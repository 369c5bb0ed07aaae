"""A smallest real weightline project, written file by file: no cookiecutter, no ML libraries.

A real git repository, real DVC (init, `dvc add`, `dvc repro`, a directory remote) and a real
pipeline whose "training" is a nearest-centroid classifier in NumPy on 80 rows: every verb of
the library runs against it for real, in seconds. The template's tests cover the real thing.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FILES = {
    "pyproject.toml": """\
[project]
name = "micro"
version = "0.1.0"

[tool.weightline]
artifact = "model"
key_metrics = ["accuracy"]
evaluate = "micro.evaluate:evaluate_weights"
loader = "micro.model:load"
""",
    ".gto": "types: [model]\nstages: [staging, production, archived]\n",
    ".gitignore": ".weightline/\n__pycache__/\n",
    "dvc.yaml": """\
stages:
  train:
    cmd: python -m micro.train
    deps: [src/micro/train.py, src/micro/model.py, data/raw, conf/model.yaml]
    params:
      - conf/model.yaml:
    outs:
      - models/model.safetensors
      - models/config.yaml: {cache: false}
      - models/signature.json: {cache: false}
      - models/training.json: {cache: false}
  evaluate:
    cmd: python -m micro.evaluate
    deps: [src/micro/evaluate.py, models/model.safetensors, data/holdout]
    metrics:
      - reports/metrics.json: {cache: false}
  manifest:
    cmd: python -m weightline manifest
    deps:
      - pyproject.toml
      - models/model.safetensors
      - models/config.yaml
      - models/signature.json
      - models/training.json
      - reports/metrics.json
      - data/raw
      - data/holdout
    outs:
      - models/manifest.json: {cache: false}
artifacts:
  model:
    path: models/model.safetensors
    type: model
""",
    "conf/model.yaml": "shrink: 0.0\n",
    "conf/gate.yaml": """\
metrics:
  accuracy:
    direction: higher
    threshold: 0.6
    tolerance: 0.05
""",
    "src/micro/__init__.py": "",
    "src/micro/model.py": '''\
"""Nearest centroid: a centroid per class, probabilities from a softmax of distances."""

from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file


class Model:
    def __init__(self, centroids: np.ndarray) -> None:
        self.centroids = centroids

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        distance = ((features[:, None, :] - self.centroids[None, :, :]) ** 2).sum(axis=2)
        scores = np.exp(-(distance - distance.min(axis=1, keepdims=True)))
        return (scores / scores.sum(axis=1, keepdims=True))[:, 1]


def save(centroids: np.ndarray, path: Path, metadata: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({"centroids": np.ascontiguousarray(centroids)}, str(path), metadata=metadata)


def load(path: Path) -> Model:
    return Model(load_file(str(path))["centroids"])
''',
    "src/micro/train.py": """\
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from micro.model import save
from weightline import Run, Signature


def main() -> None:
    run = Run.start()
    shrink = yaml.safe_load(Path("conf/model.yaml").read_text())["shrink"]
    frame = pd.read_csv("data/raw/train.csv")
    features, labels = frame.drop(columns=["target"]), frame["target"].to_numpy()
    centroids = np.stack(
        [features[labels == k].mean().to_numpy() * (1 - shrink) for k in (0, 1)]
    )
    signature = Signature.infer(features, outputs={"probability": "float64"})
    weights = Path("models/model.safetensors")
    save(centroids, weights, signature.metadata(framework="numpy"))
    weights.with_name("config.yaml").write_text(yaml.safe_dump({"shrink": shrink}))
    run.finish(weights, signature, features, labels)


if __name__ == "__main__":
    main()
""",
    "src/micro/evaluate.py": """\
import json
from pathlib import Path

import pandas as pd

from micro.model import load


def evaluate_weights(weights: Path) -> dict:
    frame = pd.read_csv("data/holdout/holdout.csv")
    probability = load(weights).predict_proba(frame.drop(columns=["target"]).to_numpy())
    return {"accuracy": round(float(((probability >= 0.5) == frame["target"]).mean()), 6)}


def main() -> None:
    Path("reports").mkdir(exist_ok=True)
    metrics = evaluate_weights(Path("models/model.safetensors"))
    Path("reports/metrics.json").write_text(json.dumps(metrics) + "\\n")


if __name__ == "__main__":
    main()
""",
}
FEATURES = ("alpha", "beta", "gamma")


def table(rows: int, seed: int) -> str:
    """Two well separated classes, as CSV."""
    rng = np.random.default_rng(seed)
    labels = np.arange(rows) % 2
    values = rng.normal(size=(rows, len(FEATURES))) + labels[:, None] * 2.0
    lines = [",".join([*FEATURES, "target"])]
    lines += [
        ",".join([*(f"{v:.6f}" for v in row), str(label)])
        for row, label in zip(values, labels, strict=True)
    ]
    return "\n".join(lines) + "\n"


@dataclass
class Micro:
    """A micro project and the commands run in it: git as processes; DVC as processes or, where
    a process per call would dominate the tier's time, through DVC's own code in this process."""

    path: Path
    remote: Path

    def environment(self) -> dict[str, str]:
        """The project's package importable; this interpreter's `python` and tools first."""
        return {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(
                [str(self.path / "src"), os.environ.get("PYTHONPATH", "")]
            ),
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        }

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            args, cwd=self.path, env=self.environment(), capture_output=True, text=True
        )
        if check and done.returncode != 0:
            raise AssertionError(
                f"`{' '.join(args)}` exited {done.returncode}:\n{done.stdout}{done.stderr}"
            )
        return done

    def git(self, *args: str) -> str:
        return self.run("git", *args).stdout.strip()

    def dvc(self, *args: str) -> str:
        return self.run(sys.executable, "-m", "dvc", *args).stdout

    def set_remote_url(self, url: str, name: str = "storage") -> None:
        """What `dvc remote modify --local <name> url <url>` writes, by DVC's own configuration
        code in this process: a `dvc` process per copy of a project was a fifth of the CPU time
        of the fast tier."""
        set_remote_url(self.path, url, name)

    def checkout_outputs(self, *targets: str, relink: bool = False) -> None:
        """`dvc checkout [--relink] [targets]`, by DVC in this process (the outputs of what git
        has checked out)."""
        from dvc.repo import Repo

        with contextlib.chdir(self.path), Repo(str(self.path)) as repo:
            repo.checkout(targets=list(targets) or None, relink=relink)

    def dvc_status(self, *targets: str) -> dict[str, object]:
        """`dvc status [targets]`, by DVC in this process: empty when everything is up to date."""
        from dvc.repo import Repo

        with contextlib.chdir(self.path), Repo(str(self.path)) as repo:
            return dict(repo.status(targets=list(targets) or None))

    def use_cache_type(self, cache_type: str) -> None:
        """`dvc config --local cache.type <type>` and `dvc checkout --relink`, in this process."""
        from dvc.config import Config

        with Config(dvc_dir=str(self.path / ".dvc")).edit("local") as config:
            config["cache"]["type"] = cache_type
        self.checkout_outputs(relink=True)

    def reproduce(self) -> None:
        """`dvc repro`, by DVC in this process (its stages run as processes, as they always do,
        in the project's environment)."""
        from dvc.repo import Repo

        saved = dict(os.environ)
        os.environ.update(self.environment())
        try:
            with contextlib.chdir(self.path), Repo(str(self.path)) as repo:
                repo.reproduce()  # of ./dvc.yaml: DVC finds targets from the cwd
        finally:
            os.environ.clear()
            os.environ.update(saved)

    def train(self, shrink: float, message: str) -> str:
        """Set the config, `dvc repro`, commit; the new commit."""
        (self.path / "conf/model.yaml").write_text(f"shrink: {shrink}\n")
        self.reproduce()
        self.git("add", "--all")
        self.git("commit", "--quiet", "-m", message)
        return self.git("rev-parse", "HEAD")

    def copy(self, destination: Path) -> Micro:
        """An independent copy: repository, DVC cache, remote and bare origin."""
        shutil.copytree(self.path, destination, symlinks=True)
        remote = destination.parent / f"{destination.name}-remote"
        if self.remote.exists():
            shutil.copytree(self.remote, remote)
        copy = Micro(destination, remote)
        copy.set_remote_url(str(remote))
        origin = self.path.parent / f"{self.path.name}-origin.git"
        if origin.exists():
            moved = destination.parent / f"{destination.name}-origin.git"
            shutil.copytree(origin, moved, symlinks=True)
            copy.git("remote", "set-url", "origin", str(moved))
        return copy


def set_remote_url(project: Path, url: str, name: str = "storage") -> None:
    from dvc.config import Config

    with Config(dvc_dir=str(project / ".dvc")).edit("local") as config:
        config["remote"].setdefault(name, {})["url"] = url


def create(path: Path) -> Micro:
    """Write, initialise and commit a micro project (no version yet)."""
    for name, text in FILES.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    (path / "data/raw").mkdir(parents=True)
    (path / "data/holdout").mkdir(parents=True)
    (path / "data/raw/train.csv").write_text(table(80, seed=1))
    (path / "data/holdout/holdout.csv").write_text(table(40, seed=2))
    micro = Micro(path, path.parent / f"{path.name}-remote")
    micro.git("init", "--quiet", "-b", "main")
    micro.dvc("init", "--quiet")
    micro.dvc("config", "core.analytics", "false")
    micro.dvc("remote", "add", "--default", "storage", str(micro.remote))
    micro.dvc("add", "--quiet", "data/raw", "data/holdout")
    micro.git("add", "--all")
    micro.git("commit", "--quiet", "-m", "A micro project")
    return micro


def add_origin(micro: Micro) -> Path:
    origin = micro.path.parent / f"{micro.path.name}-origin.git"
    subprocess.run(["git", "init", "--quiet", "--bare", str(origin)], check=True)
    micro.git("remote", "add", "origin", str(origin))
    micro.git("push", "--quiet", "origin", "main")
    return origin
