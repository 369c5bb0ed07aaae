"""Where things are and who writes: read once from `[tool.weightline]`, dvc.yaml and .gto.

The artifact's weights path comes from dvc.yaml's `artifacts:` entry (the same one DVC and GTO
read); the files weightline keeps next to the weights are named after it; the stages a version
can hold come from .gto (GTO's own configuration). The hooks and workflows read paths from here
(`weightline settings KEY`) rather than keeping copies in shell.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from weightline.errors import ConfigurationError, NotFound

# `typing` only for the type checker: importing it cost a warm `weightline query` about 5 ms of
# its 50 at 10,000 versions (benchmarks/registry_scale.py), and this module is on that path.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

CACHE = ".weightline/settings.json"
STAMPED = ("pyproject.toml", "dvc.yaml", ".gto")  # a change to any of them re-reads them
DEFAULT_STAGES = ("staging", "production", "archived")
FIELDS = (  # in the order `weightline settings` prints them
    "root", "artifact", "weights", "holdout", "metrics", "config", "key_metrics",
    "first_version", "git_remote", "stage_order", "evaluate", "loader", "stages",
    "release_branch", "register", "lock", "plots",
)  # fmt: skip


class Settings:
    """A project's settings. A plain class, not a NamedTuple or a dataclass, for the reason
    above; never changed after it is made."""

    __slots__ = FIELDS

    def __init__(
        self,
        root: Path,
        artifact: str,
        weights: str,
        holdout: str = "data/holdout",
        metrics: str = "reports/metrics.json",
        config: str = "models/config.yaml",
        key_metrics: tuple[str, ...] = (),
        first_version: str = "v1.0.0",
        git_remote: str = "origin",
        stage_order: dict[str, str] | None = None,  # default: production needs staging first
        evaluate: str = "",  # "package.module:function": weights path -> hold-out metrics
        loader: str = "",  # "package.module:function": weights path -> model with predict
        stages: tuple[str, ...] = DEFAULT_STAGES,
        release_branch: str = "main",  # versions are registered from this branch only
        register: str = "hook",  # who registers on the release branch: the "hook" or "ci"
        lock: str = "requirements.lock",  # the environment's lock file, hashed into manifests
        plots: str = "reports/plots",  # the evaluate stage's plot data
    ) -> None:
        self.root = root
        self.artifact = artifact
        self.weights = weights
        self.holdout = holdout
        self.metrics = metrics
        self.config = config
        self.key_metrics = key_metrics
        self.first_version = first_version
        self.git_remote = git_remote
        self.stage_order = {"production": "staging"} if stage_order is None else stage_order
        self.evaluate = evaluate
        self.loader = loader
        self.stages = stages
        self.release_branch = release_branch
        self.register = register
        self.lock = lock
        self.plots = plots

    def fields(self) -> dict[str, Any]:
        """Every setting by name (what the cache stores)."""
        return {name: getattr(self, name) for name in FIELDS}

    def __repr__(self) -> str:
        return f"Settings({', '.join(f'{k}={v!r}' for k, v in self.fields().items())})"

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

    def public(self) -> dict[str, Any]:
        """Every setting by name, derived paths included (what `weightline settings` prints)."""
        values = self.fields()
        values["root"] = str(self.root)
        values["stage_order"] = dict(self.stage_order)
        values.update(manifest=self.manifest, signature=self.signature, training=self.training)
        return values


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
        raise NotFound("not inside a git repository: run weightline from your project")
    return Path(done.stdout.strip())


def _stamp(root: Path) -> list[list[object]]:
    """What the cached settings were read from: a change to any of these files invalidates them."""
    stamp: list[list[object]] = []
    for name in STAMPED:
        try:
            found = os.stat(root / name)
        except FileNotFoundError:
            if name == ".gto":
                stamp.append([name])
                continue
            return []
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
            return Settings(
                root=root,
                **fields
                | {"key_metrics": tuple(fields["key_metrics"]), "stages": tuple(fields["stages"])},
            )
    except (OSError, ValueError, KeyError, TypeError):
        pass  # no cache yet, or an unusable one: parse
    settings = parse(root)
    if stamp:
        fields = settings.fields()
        del fields["root"]
        try:
            (root / CACHE).parent.mkdir(exist_ok=True)
            (root / CACHE).write_text(json.dumps({"stamp": stamp, "settings": fields}))
        except OSError:
            pass  # a read-only checkout still works, only slower
    return settings


def _text(table: dict[str, Any], key: str, default: str) -> str:
    value = table.get(key, default)
    if not isinstance(value, str) or not value:
        raise ConfigurationError(
            f"[tool.weightline] {key} = {value!r} in pyproject.toml must be a non-empty string"
        )
    return value


def parse(root: Path) -> Settings:
    import tomllib

    pyproject = root / "pyproject.toml"
    if not pyproject.exists():
        raise ConfigurationError(
            f"no pyproject.toml in {root}: run weightline from the project root"
        )
    try:
        table = tomllib.loads(pyproject.read_text()).get("tool", {}).get("weightline")
    except tomllib.TOMLDecodeError as error:
        raise ConfigurationError(f"{pyproject} is not valid TOML: {error}") from error
    if not isinstance(table, dict) or "artifact" not in table:
        raise ConfigurationError(
            f"{pyproject} has no [tool.weightline] table with an `artifact` key"
        )
    artifact = _text(table, "artifact", "")
    weights = artifact_path(root, artifact)
    register = _text(table, "register", "hook")
    if register not in ("hook", "ci"):
        raise ConfigurationError(
            f'[tool.weightline] register = {register!r}: use "hook" (the post-commit hook '
            'registers on the release branch) or "ci" (the release workflow does)'
        )
    key_metrics = table.get("key_metrics", ())
    if not isinstance(key_metrics, list | tuple) or not all(
        isinstance(k, str) for k in key_metrics
    ):
        raise ConfigurationError("[tool.weightline] key_metrics must be a list of metric names")
    return Settings(
        root=root,
        artifact=artifact,
        weights=weights,
        holdout=_text(table, "holdout", "data/holdout"),
        metrics=_text(table, "metrics", "reports/metrics.json"),
        config=_text(table, "config", f"{Path(weights).parent}/config.yaml"),
        key_metrics=tuple(key_metrics),
        first_version=_text(table, "first_version", "v1.0.0"),
        git_remote=_text(table, "git_remote", "origin"),
        stage_order=dict(table.get("stage_order", {"production": "staging"})),
        evaluate=str(table.get("evaluate", "")),
        loader=str(table.get("loader", "")),
        stages=allowed_stages(root),
        release_branch=_text(table, "release_branch", "main"),
        register=register,
        lock=_text(table, "lock", "requirements.lock"),
        plots=_text(table, "plots", "reports/plots"),
    )


def allowed_stages(root: Path) -> tuple[str, ...]:
    """The `stages:` list of .gto (GTO's own config), or GTO's usual three."""
    import yaml

    path = root / ".gto"
    if not path.exists():
        return DEFAULT_STAGES
    try:
        stages = (yaml.safe_load(path.read_text()) or {}).get("stages")
    except (yaml.YAMLError, AttributeError) as error:
        raise ConfigurationError(f".gto is not a valid YAML mapping ({error}): fix it") from error
    if stages is None:
        return DEFAULT_STAGES
    if not isinstance(stages, list) or not all(isinstance(s, str) for s in stages):
        raise ConfigurationError(".gto: `stages` must be a list of stage names")
    return tuple(stages)


def artifact_path(root: Path, artifact: str) -> str:
    """The weights path of `artifact` from dvc.yaml's `artifacts:` section."""
    import yaml

    dvc_yaml = root / "dvc.yaml"
    try:
        artifacts = (yaml.safe_load(dvc_yaml.read_text()) or {}).get("artifacts") or {}
    except (OSError, yaml.YAMLError, AttributeError) as error:
        raise ConfigurationError(f"cannot read {dvc_yaml}: {error}") from error
    if artifact not in artifacts:
        raise ConfigurationError(
            f"dvc.yaml has no artifact {artifact!r} (it has {sorted(artifacts) or 'none'}): "
            "fix `artifact` in [tool.weightline] or the `artifacts:` section of dvc.yaml"
        )
    return str(artifacts[artifact]["path"])


def entry_point(settings: Settings, key: str) -> Callable[..., Any]:
    """The user function named by `key` in [tool.weightline] ("package.module:function").

    This is the only way weightline reaches the project's own code: it never imports it by name.
    """
    spec = getattr(settings, key)
    module_name, _, function = spec.partition(":")
    if not module_name or not function:
        raise ConfigurationError(
            f"[tool.weightline] {key} = {spec!r} is not 'package.module:function': set it in "
            "pyproject.toml"
        )
    import importlib

    try:
        found: Callable[..., Any] = getattr(importlib.import_module(module_name), function)
    except (ImportError, AttributeError) as error:
        raise ConfigurationError(
            f"cannot load [tool.weightline] {key} = {spec!r} ({error}): is the project installed "
            "(`make setup`) and the name right?"
        ) from error
    return found
