"""`weightline reproduce`: retrain a version from its own commit, away from the user's work.

A temporary `git worktree` at the version's commit (the user's working tree, index and HEAD are
never touched), DVC pointed at the user's cache and remotes, `dvc pull`, then `dvc repro --force`
with that commit's own code on PYTHONPATH. The new weights' SHA-256 and metrics are compared with
the version's manifest: "bit-exact", "same metrics, different bytes" or "differs" (with the
changes that explain it). The worktree is removed afterwards, also when something fails.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from weightline.errors import WeightlineError
from weightline.settings import Settings
from weightline.store.digest import sha256_file

BIT_EXACT = "bit-exact"
SAME_METRICS = "same metrics, different bytes"
DIFFERS = "differs"


@dataclass
class Result:
    version: str
    verdict: str
    expected_sha256: str
    actual_sha256: str
    metrics: list[dict]  # name, recorded, reproduced, delta
    differences: dict = field(default_factory=dict)  # config, data, environment that differ
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)

    def lines(self) -> list[str]:
        out = [f"{self.version}: {self.verdict}"]
        out.append(f"  weights sha256 recorded   {self.expected_sha256}")
        out.append(f"  weights sha256 reproduced {self.actual_sha256}")
        changed = [m for m in self.metrics if m["recorded"] != m["reproduced"]]
        if changed:
            out.append("  metrics that differ:")
            out += [
                f"    {m['name']}: {m['recorded']} -> {m['reproduced']}"
                + (f" ({m['delta']:+g})" if m["delta"] is not None else "")
                for m in changed
            ]
        else:
            out.append(f"  metrics: all {len(self.metrics)} identical")
        for section, items in self.differences.items():
            if items:
                out.append(f"  {section} differs from the recorded run:")
                out += [f"    {item}" for item in items]
        return out


def run(args: list[str], cwd: Path, env: dict, what: str) -> str:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        output = (done.stdout + done.stderr).strip()
        raise WeightlineError(f"{what} failed in the reproduction worktree:\n{output[-3000:]}")
    return done.stdout


def dvc_settings(root: Path) -> tuple[dict[str, str], Path]:
    """Every DVC remote's URL with local paths made absolute, and the DVC cache directory."""
    from dvc.config import Config

    config = Config(dvc_dir=str(root / ".dvc"))  # all levels: system, global, repo, local
    remotes = {}
    for name, remote in (config.get("remote") or {}).items():
        url = str(remote.get("url", ""))
        if url and "://" not in url:  # DVC resolves relative paths against .dvc/ on load
            url = str(Path(url).resolve())
        remotes[name] = url
    cache = (config.get("cache") or {}).get("dir")
    return remotes, Path(cache).resolve() if cache else root / ".dvc" / "cache"


def prepare_dvc(root: Path, tree: Path, env: dict) -> None:
    """Let DVC in the worktree reach what it reaches in the user's repository."""
    local = root / ".dvc" / "config.local"
    if local.exists():  # credentials and local remotes; not in git, so not in the worktree
        shutil.copy2(local, tree / ".dvc" / "config.local")
    remotes, cache = dvc_settings(root)
    dvc = [sys.executable, "-m", "dvc"]
    for name, url in remotes.items():
        if url and "://" not in url:  # a relative directory remote would resolve elsewhere
            run([*dvc, "remote", "modify", "--local", name, "url", url], tree, env, "dvc remote")
    # The user's cache: what is there need not be downloaded, and the objects are the same.
    run([*dvc, "cache", "dir", "--local", str(cache)], tree, env, "dvc cache dir")


def metric_rows(recorded: dict, reproduced: dict) -> list[dict]:
    """The metrics' changes (as `weightline diff` finds them), labelled for a reproduction."""
    from weightline.domain.compare import metric_changes

    return [
        {"name": m["name"], "recorded": m["old"], "reproduced": m["new"], "delta": m["delta"]}
        for m in metric_changes(recorded, reproduced)
    ]


def explain(recorded: dict, reproduced: dict) -> dict:
    """What differs between the recorded run and this one that could change the weights."""
    from weightline.domain.compare import diff

    found = diff(recorded, reproduced)
    return {
        "environment": [
            f"{c['name']}: {c['old']} -> {c['new']}" for c in found["drift"]["environment"]
        ],
        "data": [f"{c['path']}: {c['old']} -> {c['new']}" for c in found["data"]],
        "config": [f"{c['key']}: {c['old']} -> {c['new']}" for c in found["config"]],
    }


def verdict(same_bytes: bool, metrics: list[dict]) -> str:
    if same_bytes:
        return BIT_EXACT
    if all(m["recorded"] == m["reproduced"] for m in metrics):
        return SAME_METRICS
    return DIFFERS


def reproduce(settings: Settings, tag: str, commit: str, manifest: dict) -> Result:
    """Retrain `tag` at `commit` in a temporary worktree; compare with its manifest."""
    import time

    started = time.monotonic()
    root = settings.root
    scratch = Path(tempfile.mkdtemp(prefix="weightline-reproduce-"))
    tree = scratch / "worktree"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(tree / "src"), os.getenv("PYTHONPATH")])),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "DVC_NO_ANALYTICS": "1",
    }
    # Hooks off: the project's post-checkout hook would run `dvc checkout` too early.
    git = ["git", "-c", "core.hooksPath=/dev/null"]
    added = False
    try:
        run([*git, "worktree", "add", "--detach", str(tree), commit], root, env, "git worktree add")
        added = True
        prepare_dvc(root, tree, env)
        dvc = [sys.executable, "-m", "dvc"]
        run([*dvc, "pull"], tree, env, "`dvc pull` (are the data on the DVC remote? `dvc push`)")
        run([*dvc, "repro", "--force"], tree, env, "`dvc repro --force`")
        weights = tree / manifest["weights"]["path"]
        actual = sha256_file(weights)
        new_manifest = json.loads((tree / settings.manifest).read_text())
    finally:
        if added:
            subprocess.run(
                [*git, "worktree", "remove", "--force", str(tree)], cwd=root, capture_output=True
            )
        shutil.rmtree(scratch, ignore_errors=True)
        subprocess.run(["git", "worktree", "prune"], cwd=root, capture_output=True)
    expected = manifest["weights"]["sha256"]
    metrics = metric_rows(manifest.get("metrics") or {}, new_manifest.get("metrics") or {})
    result = Result(
        version=tag,
        verdict=verdict(actual == expected, metrics),
        expected_sha256=expected,
        actual_sha256=actual,
        metrics=metrics,
        seconds=round(time.monotonic() - started, 1),
    )
    if result.verdict != BIT_EXACT:
        result.differences = explain(manifest, new_manifest)
    return result
