"""Where things are: read once from `[tool.weightline]` in pyproject.toml and from dvc.yaml.

The artifact's weights path comes from dvc.yaml's `artifacts:` entry (the same one DVC and GTO
read); the files weightline keeps next to the weights are named after it.
"""

import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path

import yaml

from .errors import WeightlineError


@dataclass(frozen=True)
class Settings:
    root: Path
    artifact: str
    weights: str
    holdout: str
    metrics: str
    config: str
    key_metrics: tuple[str, ...] = ()
    first_version: str = "v1.0.0"
    git_remote: str = "origin"

    @property
    def models_dir(self) -> str:
        return str(Path(self.weights).parent)

    @property
    def manifest(self) -> str:
        return f"{self.models_dir}/manifest.json"

    @property
    def signature(self) -> str:
        return f"{self.models_dir}/signature.json"

    @property
    def training(self) -> str:
        return f"{self.models_dir}/training.json"

    def path(self, relative: str) -> Path:
        return self.root / relative


def find_root(start: Path | None = None) -> Path:
    """The top of the git work tree that holds the current directory."""
    done = subprocess.run(
        ["git", "rev-parse", "--show-toplevel"],
        cwd=start or Path.cwd(),
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise WeightlineError("not inside a git repository: run weightline from your project")
    return Path(done.stdout.strip())


def load(root: Path | None = None) -> Settings:
    root = root or find_root()
    pyproject = root / "pyproject.toml"
    if not pyproject.exists():
        raise WeightlineError(f"no pyproject.toml in {root}: run weightline from the project root")
    try:
        table = tomllib.loads(pyproject.read_text()).get("tool", {}).get("weightline")
    except tomllib.TOMLDecodeError as error:
        raise WeightlineError(f"{pyproject} is not valid TOML: {error}") from None
    if not table or "artifact" not in table:
        raise WeightlineError(f"{pyproject} has no [tool.weightline] table with an `artifact` key")
    artifact = table["artifact"]
    weights = artifact_path(root, artifact)
    return Settings(
        root=root,
        artifact=artifact,
        weights=weights,
        holdout=table.get("holdout", "data/holdout"),
        metrics=table.get("metrics", "reports/metrics.json"),
        config=table.get("config", f"{Path(weights).parent}/config.yaml"),
        key_metrics=tuple(table.get("key_metrics", ())),
        first_version=table.get("first_version", "v1.0.0"),
        git_remote=table.get("git_remote", "origin"),
    )


def artifact_path(root: Path, artifact: str) -> str:
    """The weights path of `artifact` from dvc.yaml's `artifacts:` section."""
    dvc_yaml = root / "dvc.yaml"
    try:
        artifacts = yaml.safe_load(dvc_yaml.read_text()).get("artifacts") or {}
    except (OSError, yaml.YAMLError) as error:
        raise WeightlineError(f"cannot read {dvc_yaml}: {error}") from None
    if artifact not in artifacts:
        raise WeightlineError(
            f"dvc.yaml has no artifact {artifact!r} (it has {sorted(artifacts) or 'none'}): "
            "fix `artifact` in [tool.weightline] or the `artifacts:` section of dvc.yaml"
        )
    return artifacts[artifact]["path"]
