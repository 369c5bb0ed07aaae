"""Where things are: read once from `[tool.weightline]` in pyproject.toml and from dvc.yaml.

The artifact's weights path comes from dvc.yaml's `artifacts:` entry (the same one DVC and GTO
read); the files weightline keeps next to the weights are named after it.
"""

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from weightline.errors import WeightlineError

CACHE = ".weightline/settings.json"


class Settings(NamedTuple):
    root: Path
    artifact: str
    weights: str
    holdout: str
    metrics: str
    config: str
    key_metrics: tuple[str, ...] = ()
    first_version: str = "v1.0.0"
    git_remote: str = "origin"
    stage_order: dict[str, str] = {"production": "staging"}  # noqa: RUF012 (never mutated)
    evaluate: str = ""  # "package.module:function": weights path -> hold-out metrics
    loader: str = ""  # "package.module:function": weights path -> object with predict_proba

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
    if not (os.environ.get("GIT_DIR") or os.environ.get("GIT_WORK_TREE")):
        here = (start or Path.cwd()).resolve()
        for directory in (here, *here.parents):
            if (directory / ".git").exists():  # a directory, or a file in a linked worktree
                return directory
    import subprocess

    done = subprocess.run(
        ["git", "rev-parse", "--show-toplevel"],
        cwd=start or Path.cwd(),
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise WeightlineError("not inside a git repository: run weightline from your project")
    return Path(done.stdout.strip())


def _stamp(root: Path) -> list:
    """What the cached settings were read from: a change to either file invalidates them."""
    stamp = []
    for name in ("pyproject.toml", "dvc.yaml"):
        try:
            found = os.stat(root / name)
        except OSError:
            return []
        stamp.append([name, found.st_ino, found.st_size, found.st_mtime_ns])
    return stamp


def load(root: Path | None = None) -> Settings:
    """The project's settings; parsed once, then cached beside the index until a file changes.

    Parsing pyproject.toml and dvc.yaml costs more than a warm `weightline query` itself.
    """
    root = root or find_root()
    stamp = _stamp(root)
    try:
        cached = json.loads((root / CACHE).read_text())
        if stamp and cached["stamp"] == stamp:
            fields = cached["settings"]
            return Settings(root=root, **fields | {"key_metrics": tuple(fields["key_metrics"])})
    except (OSError, ValueError, KeyError, TypeError):
        pass  # no cache yet, or an unusable one: parse
    settings = parse(root)
    if stamp:
        fields = settings._asdict()
        del fields["root"]
        try:
            (root / CACHE).parent.mkdir(exist_ok=True)
            (root / CACHE).write_text(json.dumps({"stamp": stamp, "settings": fields}))
        except OSError:
            pass  # a read-only checkout still works, only slower
    return settings


def parse(root: Path) -> Settings:
    import tomllib

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
        stage_order=dict(table.get("stage_order", {"production": "staging"})),
        evaluate=table.get("evaluate", ""),
        loader=table.get("loader", ""),
    )


def artifact_path(root: Path, artifact: str) -> str:
    """The weights path of `artifact` from dvc.yaml's `artifacts:` section."""
    import yaml

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


def entry_point(settings: Settings, key: str) -> Callable:
    """The user function named by `key` in [tool.weightline] ("package.module:function").

    This is the only way weightline reaches the project's own code: it never imports it by name.
    """
    spec = getattr(settings, key)
    module_name, _, function = spec.partition(":")
    if not module_name or not function:
        raise WeightlineError(
            f"[tool.weightline] {key} = {spec!r} is not 'package.module:function': set it in "
            "pyproject.toml"
        )
    import importlib

    try:
        return getattr(importlib.import_module(module_name), function)
    except (ImportError, AttributeError) as error:
        raise WeightlineError(
            f"cannot load [tool.weightline] {key} = {spec!r} ({error}): is the project installed "
            "(`make setup`) and the name right?"
        ) from None
