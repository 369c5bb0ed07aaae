"""Called by the training code: record the run next to the weights it produced.

`Run.start()` at the top of training, `run.finish(...)` after the weights are saved. That writes
models/signature.json and models/training.json: who trained, where, when, from which commit (and
which uncommitted sources), in which environment, on what data. The manifest stage reads them.
"""

import getpass
import importlib.metadata
import json
import platform
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from weightline.domain import summary
from weightline.domain.signature import Signature
from weightline.store import git
from weightline.store.digest import sha256_bytes
from weightline.store.files import write_atomic

KEY_PACKAGES = (
    "weightline", "numpy", "pandas", "scikit-learn", "torch", "safetensors", "dvc", "hydra-core",
    "omegaconf",
)  # fmt: skip


def environment() -> dict[str, Any]:
    """Interpreter, platform, versions of the packages that shape the weights, and a hash of all."""
    installed = {
        (dist.metadata["Name"] or "").lower(): dist.version
        for dist in importlib.metadata.distributions()
    }
    listing = "\n".join(f"{name}=={version}" for name, version in sorted(installed.items()))
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "packages": {name: installed[name] for name in KEY_PACKAGES if name in installed},
        "packages_count": len(installed),
        "packages_sha256": sha256_bytes(listing.encode()),
    }


def pipeline_outputs(root: Path) -> set[str]:
    """Paths that `dvc repro` itself writes, which do not make the sources dirty."""
    dvc_yaml = root / "dvc.yaml"
    stages = (
        (yaml.safe_load(dvc_yaml.read_text()) or {}).get("stages", {}) if dvc_yaml.exists() else {}
    )
    outs = {"dvc.lock"}
    for stage in stages.values():
        for kind in ("outs", "metrics", "plots"):
            for item in stage.get(kind, []):
                outs.add(next(iter(item)) if isinstance(item, dict) else item)
    return outs


def code_state(root: Path) -> dict[str, Any]:
    """The commit the run started from and the source files that differed from it.

    Outside a git repository (a scratch directory in a test, say) every field is None.
    """
    outputs = pipeline_outputs(root)
    status = git.run(root, "status", "--porcelain=v1", "--untracked-files=no", check=False)
    changed = [
        line[3:]
        for line in status.splitlines()
        if line[3:] not in outputs and not line[3:].endswith(".gitignore")
    ]
    commit = git.run(root, "rev-parse", "--verify", "--quiet", "HEAD", check=False).strip()
    return {
        "commit": commit or None,
        "branch": git.branch(root) or None,
        "dirty": bool(changed) if commit else None,
        "changed": changed,
    }


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds")


@dataclass
class Run:
    root: Path
    started: float
    code: dict[str, Any]

    @classmethod
    def start(cls, root: Path | None = None) -> "Run":
        root = (root or Path.cwd()).resolve()
        return cls(root=root, started=time.time(), code=code_state(root))

    def finish(
        self, weights: Path, signature: Signature, features: pd.DataFrame, labels: np.ndarray
    ) -> None:
        """Write signature.json and training.json next to `weights`."""
        ended = time.time()
        record = {
            "run": {
                "user": git.config(self.root, "user.name") or getpass.getuser(),
                "email": git.config(self.root, "user.email") or None,
                "host": socket.gethostname(),
                "started": _iso(self.started),
                "ended": _iso(ended),
                "duration_s": round(ended - self.started, 3),
            },
            "code": self.code,
            "environment": environment(),
            "training_data": summary.describe(features, labels, signature.task),
        }
        write_atomic(weights.with_name("signature.json"), signature.to_json())
        write_atomic(weights.with_name("training.json"), json.dumps(record, indent=2) + "\n")
