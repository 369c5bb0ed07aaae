"""`weightline reproduce`: retrain a version in a temporary worktree, never in the user's own.

The seed's "replicate the exact production environment in a sandbox": the version's commit,
its data from DVC, its own code, retrained, and compared byte for byte with what was registered.
"""

import json
import shutil
from pathlib import Path

import pytest

from .project import EXIT, Project, bake, sha256, weightline
from .story import train_and_commit

pytestmark = pytest.mark.slow


def user_state(project: Project) -> tuple:
    """Everything of the user's that reproducing must leave as it was."""
    return (
        project.git("rev-parse", "HEAD"),
        project.git("status", "--porcelain", "--untracked-files=all", "--ignored"),
        project.git("worktree", "list", "--porcelain"),
        sha256(project.weights),
        (project.path / "models/manifest.json").read_text(),
        (project.path / "conf/model").stat().st_mtime_ns,
    )


def leftovers(scratch: Path) -> list[str]:
    """weightline's temporary directories (torch keeps a cache of its own there: not ours)."""
    return [p.name for p in scratch.iterdir() if p.name.startswith("weightline")]


@pytest.mark.parametrize("framework", ["sklearn", "pytorch"])
def test_a_version_reproduces_bit_exact(cookies, tmp_path: Path, framework: str):
    project = bake(cookies, tmp_path, framework=framework)
    train_and_commit(project, "Train the first model")
    (project.path / "notes.txt").write_text("uncommitted work of the user\n")
    weightline(project, "query")  # the index (.weightline/, ignored) exists before, as usual
    before = user_state(project)
    scratch = tmp_path / "tmp"
    scratch.mkdir()

    done = project.run(
        "python",
        "-m",
        "weightline",
        "reproduce",
        "v1.0.0",
        "--json",
        env=project.env(TMPDIR=str(scratch)),
    )
    result = json.loads(done.stdout)
    assert result["verdict"] == "bit-exact", result
    assert result["actual_sha256"] == result["expected_sha256"] == sha256(project.weights)
    assert all(m["recorded"] == m["reproduced"] for m in result["metrics"])
    assert {m["name"] for m in result["metrics"]} >= {"accuracy", "f1", "roc_auc"}

    assert user_state(project) == before  # tree, HEAD, weights, worktrees: all as they were
    assert leftovers(scratch) == []  # the temporary worktree is gone
    assert not (project.path / ".git/worktrees").exists()
    text = weightline(project, "reproduce", "v1.0.0").stdout
    assert text.startswith("model@v1.0.0: bit-exact") and "metrics: all 6 identical" in text


def test_a_failed_reproduction_leaves_nothing_behind(cookies, tmp_path: Path):
    project = bake(cookies, tmp_path)
    train_and_commit(project, "Train the first model")
    # Neither the local cache nor the remote has the data any more: `dvc pull` must fail.
    shutil.rmtree(project.path / ".dvc/cache")
    shutil.rmtree(project.context["dvc_remote"], ignore_errors=True)
    weightline(project, "query")
    before = user_state(project)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    done = project.run(
        "python", "-m", "weightline", "reproduce", "v1.0.0",
        check=False, env=project.env(TMPDIR=str(scratch)),
    )  # fmt: skip
    assert done.returncode == EXIT["WeightlineError"], done.stdout
    assert "dvc pull" in done.stderr and "Traceback" not in done.stderr
    assert user_state(project) == before
    assert leftovers(scratch) == []
    assert not (project.path / ".git/worktrees").exists()

    refused = weightline(project, "reproduce", "latest", check=False)
    assert refused.returncode == EXIT["NotFound"] and "v1.0.0" in refused.stderr
