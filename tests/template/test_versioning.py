"""Versioning on a baked project, played like the seed's story, with real git, DVC and remotes."""

import json
import shutil
from pathlib import Path

import pytest

from .project import EXIT, Project, sha256, tags, weightline
from .story import (
    add_origin,
    commit_without_hook,
    drop_rows,
    manifest,
    remote_tags,
    remove_dvc_data,
    set_in_yaml,
    train_and_commit,
    version_summary,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def project(trained_session: Project, tmp_path: Path) -> Project:
    """A project trained once and registered as v1.0.0 by the post-commit hook: a copy."""
    return trained_session.copy(tmp_path / "project")


def test_seed_story(project: Project, tmp_path: Path):
    v1_sha = manifest(project)["weights"]["sha256"]
    assert version_summary(project, "model@v1.0.0")["weights_sha256"] == v1_sha

    drop_rows(project, 40)
    out = train_and_commit(project, "Retrain without the last 40 rows")
    assert "registered model@v1.1.0 (minor: data changed: data/prepared, data/raw)" in out
    summary = version_summary(project, "model@v1.1.0")
    assert (summary["bump"], summary["reason"]) == (
        "minor",
        "data changed: data/prepared, data/raw",
    )

    set_in_yaml(project.path / "conf/model/logreg.yaml", "C", 0.05)
    out = train_and_commit(project, "Regularise harder")
    assert "registered model@v1.2.0 (minor: config changed: model.C (1.0 -> 0.05))" in out

    # Nothing changed: same weights, so no new version, and the message names the existing one.
    project.dvc("repro", "--force")
    before = tags(project)
    project.git("add", "--all")
    done = project.run("git", "commit", "-m", "Re-run with nothing changed")
    assert "already registered as model@v1.2.0" in done.stderr
    assert tags(project) == before
    refused = weightline(project, "register", check=False)
    assert refused.returncode == EXIT["Refused"] and "model@v1.2.0" in refused.stderr

    listed = json.loads(weightline(project, "ls", "--json").stdout)
    assert [(r["version"], r["bump"]) for r in listed] == [
        ("v1.2.0", "minor"),
        ("v1.1.0", "minor"),
        ("v1.0.0", "initial"),
    ]
    shown = json.loads(weightline(project, "show", "model@v1.1.0", "--json").stdout)
    assert shown["data"]["inputs"][1]["rows"] == 569 - 40  # data/raw: the whole table
    diff = json.loads(weightline(project, "diff", "v1.0.0", "v1.2.0", "--json").stdout)
    assert {"key": "model.C", "old": 1.0, "new": 0.05} in diff["config"]
    assert {d["path"] for d in diff["data"]} == {"data/raw", "data/prepared"}
    assert diff["signature"] == {"changed": False, "breaking": []}

    # Push (weights first), lose everything local, and go back to v1.0.0 with git + DVC alone.
    origin = add_origin(project, tmp_path)
    weightline(project, "push")
    assert remote_tags(origin) == ["model@v1.0.0", "model@v1.1.0", "model@v1.2.0"]
    remove_dvc_data(project)
    project.git("checkout", "--quiet", "model@v1.0.0")
    project.dvc("pull")
    assert sha256(project.weights) == v1_sha

    project.git("checkout", "--quiet", "main")
    project.dvc("pull")
    (project.path / "README.md").write_text("# local notes, not committed\n")
    refused = weightline(project, "checkout", "v1.1.0", check=False)
    assert refused.returncode == EXIT["Refused"]
    assert "uncommitted changes (README.md)" in refused.stderr
    assert project.git("rev-parse", "--abbrev-ref", "HEAD") == "main"
    project.git("checkout", "--", "README.md")
    out = weightline(project, "checkout", "v1.1.0").stdout
    assert "model@v1.1.0" in out
    assert sha256(project.weights) == version_summary(project, "model@v1.1.0")["weights_sha256"]
    assert "ok" in weightline(project, "verify", "--all").stdout


def test_gto_and_dvc_read_our_tags(project: Project, tmp_path: Path):
    set_in_yaml(project.path / "conf/model/logreg.yaml", "C", 0.2)
    train_and_commit(project, "Another C")
    shown = json.loads(project.run("gto", "show", "--json").stdout)
    assert shown["model"]["version"] == "v1.1.0"
    history = json.loads(project.run("gto", "history", "model", "--json").stdout)
    assert {h["version"] for h in history if h["event"] == "registration"} == {"v1.0.0", "v1.1.0"}
    metrics = json.loads(
        project.dvc("metrics", "diff", "model@v1.0.0", "model@v1.1.0", "--json").stdout
    )
    assert "reports/metrics.json" in metrics
    params = json.loads(
        project.dvc("params", "diff", "model@v1.0.0", "model@v1.1.0", "--json").stdout
    )
    assert params["conf/model/logreg.yaml"]["C"]["new"] == 0.2

    project.dvc("push")
    out = tmp_path / "artifact.safetensors"
    project.dvc("artifacts", "get", ".", "model", "--rev", "v1.0.0", "-o", str(out))
    assert sha256(out) == version_summary(project, "model@v1.0.0")["weights_sha256"]


def test_get_fetches_verified_weights_without_touching_the_worktree(project: Project, tmp_path):
    project.dvc("push")
    head, status = project.git("rev-parse", "HEAD"), project.git("status", "--porcelain")
    out = tmp_path / "deploy"
    printed = weightline(project, "get", "model@v1.0.0", "-o", str(out)).stdout
    expected = version_summary(project, "model@v1.0.0")["weights_sha256"]
    assert expected in printed
    assert sha256(out / "model.safetensors") == expected
    assert json.loads((out / "manifest.json").read_text())["weights"]["sha256"] == expected
    assert json.loads((out / "signature.json").read_text())["inputs"][0]["name"] == "mean_radius"
    assert (project.git("rev-parse", "HEAD"), project.git("status", "--porcelain")) == (
        head,
        status,
    )


@pytest.mark.parametrize("ref", ["latest", "model", "v9.9.9", "production-ish"])
def test_vague_refs_are_refused_with_what_exists(project: Project, ref: str):
    done = weightline(project, "get", ref, "-o", "out", check=False)
    assert done.returncode == EXIT["NotFound"]
    assert "v1.0.0" in done.stderr, done.stderr
    assert not (project.path / "out").exists()


def test_tag_never_reaches_git_before_weights_reach_dvc(project: Project, tmp_path: Path):
    origin = add_origin(project, tmp_path)
    plain = project.run("git", "push", "origin", "model@v1.0.0", check=False)
    assert plain.returncode != 0 and "weightline push" in plain.stderr
    assert remote_tags(origin) == []

    set_in_yaml(project.path / "conf/model/logreg.yaml", "C", 0.3)
    project.dvc("repro")
    project.git("add", "--all")
    project.git("-c", "core.hooksPath=/dev/null", "commit", "--quiet", "-m", "C=0.3, no hook")
    out = weightline(project, "register", "--push").stdout
    assert "registered model@v1.1.0" in out
    assert remote_tags(origin) == ["model@v1.1.0"]  # --push sends only the new version
    assert "ok" in weightline(project, "verify", "v1.1.0").stdout
    weightline(project, "push")
    assert remote_tags(origin) == ["model@v1.0.0", "model@v1.1.0"]

    deleted = project.run("git", "push", "origin", ":refs/tags/model@v1.0.0", check=False)
    assert deleted.returncode != 0 and "immutable" in deleted.stderr
    assert remote_tags(origin) == ["model@v1.0.0", "model@v1.1.0"]


def test_verify_reports_a_missing_remote_object(project: Project, tmp_path: Path):
    project.dvc("push")
    assert weightline(project, "verify", "v1.0.0").returncode == 0
    sha = version_summary(project, "model@v1.0.0")["weights_md5"]
    remote = Path(project.context["dvc_remote"])
    (remote / "files/md5" / sha[:2] / sha[2:]).unlink()
    done = weightline(project, "verify", "--all", check=False)
    assert done.returncode == EXIT["IntegrityError"]
    assert "model@v1.0.0: FAILED" in done.stdout and "does not have the weights" in done.stdout


def refuse(project: Project, *args: str, says: str, code: str = "Refused") -> None:
    """The register command refuses, says why, and changes no tag and no file."""

    def state() -> tuple:
        manifest_sha = sha256(project.path / "models/manifest.json")
        return tags(project), project.git("status", "--porcelain"), manifest_sha

    before = state()
    done = weightline(project, "register", *args, check=False)
    assert done.returncode == EXIT[code], (done.returncode, done.stderr)
    assert says in done.stderr, done.stderr
    assert state() == before


def test_register_refusals_change_nothing(project: Project):
    # The commit already has a version.
    refuse(project, says="is already model@v1.0.0")

    # A dirty working tree.
    config = project.path / "conf/model/logreg.yaml"
    set_in_yaml(config, "C", 0.5)
    refuse(project, says="uncommitted changes (conf/model/logreg.yaml)")
    project.git("checkout", "--", "conf")

    # Weights identical to a registered version (a commit that changed only the README).
    (project.path / "README.md").write_text("# notes\n")
    commit_without_hook(project, "Docs only")
    refuse(project, says="already registered as model@v1.0.0")

    # DVC outputs that do not match dvc.lock.
    shutil.rmtree(project.path / "data/prepared")
    refuse(project, says="do not match dvc.lock")
    project.dvc("checkout")

    # New weights; then the explicit versions and bumps that would not go upward.
    set_in_yaml(config, "C", 0.5)
    project.dvc("repro")
    commit_without_hook(project, "C=0.5")
    refuse(project, "--bump", "patch", says="needs at least a minor bump")
    refuse(project, "--version", "v0.9.0", says="is not above v1.0.0")
    refuse(project, "--version", "v1.0.1", says="at least a minor bump")
    refuse(project, "--version", "1.1", says="not a version like v1.2.3")
    project.git("tag", "model@v1.1.0")  # a lightweight tag someone made by hand
    refuse(project, says="tag model@v1.1.0 already exists", code="Conflict")
    project.git("tag", "-d", "model@v1.1.0")

    # A manifest whose SHA-256 does not match the weights (and dvc.lock made to agree with it).
    path = project.path / "models/manifest.json"
    original = path.read_text()
    edited = manifest(project)
    edited["weights"]["sha256"] = "0" * 64
    path.write_text(json.dumps(edited, indent=2) + "\n")
    project.dvc("commit", "--force", "manifest")
    commit_without_hook(project, "Hand-edited manifest")
    refuse(project, says="but models/manifest.json says 0000", code="IntegrityError")

    # Upward is fine.
    path.write_text(original)
    project.dvc("commit", "--force", "manifest")
    commit_without_hook(project, "Manifest repaired")
    out = weightline(project, "register", "--version", "v2.0.0").stdout
    assert "registered model@v2.0.0 (major:" in out


def test_the_default_relative_remote_takes_two_versions_pushed_late(cookies, tmp_path: Path):
    """The answer nobody changes, `../<slug>-dvc-storage`: DVC resolved it against `/` for
    revisions other than the workspace, so a late push of two versions wrote outside the project."""
    result = cookies.bake()  # every default, the remote included
    assert result.exit_code == 0, result.exception
    project = Project(Path(result.project_path), result.context)
    config = (project.path / ".dvc/config").read_text()
    assert "url = ../../tumour-classifier-dvc-storage" in config, config  # relative to .dvc/
    outside = set(Path("/").iterdir())
    assert "registered model@v1.0.0" in train_and_commit(project, "Train the first model")
    set_in_yaml(project.path / "conf/model/logreg.yaml", "C", 0.5)
    assert "registered model@v1.1.0" in train_and_commit(project, "C=0.5, before any push")
    add_origin(project, tmp_path)

    pushed = weightline(project, "push").stdout
    assert "model@v1.0.0" in pushed and "model@v1.1.0" in pushed
    verified = weightline(project, "verify", "--all").stdout
    assert "model@v1.0.0: ok" in verified and "model@v1.1.0: ok" in verified
    assert any((project.path.parent / "tumour-classifier-dvc-storage").rglob("*"))
    assert set(Path("/").iterdir()) == outside, "something was written outside the test's root"
