"""Faults and abuse, each a real run on a baked project: a clear error, and nothing lost.

Remote failures go through a real S3 API server (moto) behind a proxy that drops dead on cue;
corruption flips real bytes; tampering rewrites real tags; races run real processes.
"""

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import boto3
import pandas as pd
import pytest

from .netfault import FlakyProxy
from .project import EXIT, Project, bake, tags, weightline
from .story import (
    add_origin,
    commit_without_hook,
    remote_tags,
    set_in_yaml,
    version_summary,
)

pytestmark = [pytest.mark.slow, pytest.mark.faults]


# --- remote faults -------------------------------------------------------------------------------


@pytest.fixture
def s3_project(trained_session, tmp_path: Path, moto_port: int, aws_credentials, monkeypatch):
    """v1.0.0 registered (not pushed) in a project whose S3 remote sits behind a FlakyProxy.

    botocore tries a dead server once more, not four times with back-off: what is tested is what
    weightline does once DVC gives up, not how long DVC keeps trying.
    """
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    bucket = f"faults-{abs(hash(tmp_path)) % 10**8}"
    boto3.client("s3", endpoint_url=f"http://127.0.0.1:{moto_port}").create_bucket(Bucket=bucket)
    proxy = FlakyProxy(moto_port)
    project = trained_session.copy(tmp_path / "project")
    project.dvc("remote", "modify", "--local", "storage", "url", f"s3://{bucket}/p")
    project.dvc("remote", "modify", "--local", "storage", "endpointurl", proxy.url)
    origin = add_origin(project, tmp_path)
    return project, proxy, origin


def weights_key(md5: str) -> str:
    return f"files/md5/{md5[:2]}/{md5[2:]}"


def test_server_lost_mid_push_sends_no_tag_and_a_retry_completes(s3_project):
    project, proxy, origin = s3_project
    md5 = version_summary(project, "model@v1.0.0")["weights_md5"]
    proxy.cut_when(weights_key(md5))  # the server dies as the weights upload starts
    failed = weightline(project, "push", check=False)
    assert proxy.cut.is_set(), "the upload never reached the weights"
    assert failed.returncode == EXIT["RemoteUnavailable"]
    assert "could not push to DVC remote 'storage'" in failed.stderr, failed.stderr
    assert remote_tags(origin) == []

    proxy.restore()
    assert "model@v1.0.0" in weightline(project, "push").stdout
    assert remote_tags(origin) == ["model@v1.0.0"]
    assert "model@v1.0.0: ok" in weightline(project, "verify", "--all").stdout


def test_server_lost_mid_register_push(s3_project):
    project, proxy, origin = s3_project
    set_in_yaml(project.path / "conf/model/logreg.yaml", "C", 0.5)
    project.dvc("repro")
    commit_without_hook(project, "C=0.5")
    lock = (project.path / "dvc.lock").read_text()
    md5 = lock.split("path: models/model.safetensors")[1].split("md5: ")[1][:32]
    proxy.cut_when(weights_key(md5))
    failed = weightline(project, "register", "--push", check=False)
    assert failed.returncode == EXIT["RemoteUnavailable"]
    assert "model@v1.1.0 made here but not pushed (a later push sends them)" in failed.stderr
    assert remote_tags(origin) == []

    proxy.restore()
    weightline(project, "push")
    assert remote_tags(origin) == ["model@v1.0.0", "model@v1.1.0"]


def test_get_with_the_remote_unreachable_leaves_no_partial_file(s3_project, tmp_path):
    project, proxy, _ = s3_project
    weightline(project, "push")
    shutil.rmtree(project.path / ".dvc/cache")  # a deploy machine: only the remote has them
    proxy.go_down()
    out = tmp_path / "deploy"
    failed = weightline(project, "get", "v1.0.0", "-o", str(out), check=False)
    assert failed.returncode == EXIT["RemoteUnavailable"]
    assert "could not download from DVC remote 'storage'" in failed.stderr, failed.stderr
    assert not out.exists() or list(out.iterdir()) == []


# --- corruption ----------------------------------------------------------------------------------


def flip_byte(path: Path, offset: int = -100) -> None:
    """Change one byte in place (files DVC made read-only included)."""
    path.chmod(0o644)
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def expect_refusal(
    done: subprocess.CompletedProcess, *fragments: str, code: str = "IntegrityError"
) -> None:
    """Refused with the documented exit code of `code` (an error class), saying each fragment."""
    output = done.stdout + done.stderr
    assert done.returncode == EXIT[code], (done.returncode, output)
    assert "Traceback" not in output, output
    for fragment in fragments:
        assert fragment in output, (fragment, output)


def test_a_flipped_byte_in_the_remote_is_refused_everywhere(released: Project, tmp_path):
    summary = version_summary(released, "model@v1.0.0")
    expected, md5 = summary["weights_sha256"], summary["weights_md5"]
    flip_byte(Path(released.context["dvc_remote"]) / weights_key(md5))
    expect_refusal(weightline(released, "verify", "v1.0.0", check=False), "expected " + expected)
    # The local cache's good copy is used while it is there; without it the remote's is refused.
    shutil.rmtree(released.path / ".dvc/cache")
    out = tmp_path / "out"
    get = weightline(released, "get", "v1.0.0", "-o", str(out), check=False)
    expect_refusal(get, "corrupt", expected)
    assert not any(out.glob("*.safetensors")) and not any(out.glob(".*"))
    frame = tmp_path / "x.csv"
    shutil.copy(released.path / "data/holdout/holdout.csv", frame)
    predict = weightline(released, "predict", "v1.0.0", "--input", str(frame), check=False)
    expect_refusal(predict, "corrupt", expected)


def test_a_flipped_byte_in_the_cache_or_workspace_is_refused(released: Project, tmp_path):
    summary = version_summary(released, "model@v1.0.0")
    expected, md5 = summary["weights_sha256"], summary["weights_md5"]

    flip_byte(released.weights)  # the working tree
    verify = weightline(released, "verify", "v1.0.0", check=False)
    expect_refusal(verify, "in the working tree has SHA-256", f"expected {expected}")
    released.dvc("checkout", "--force")

    cached = released.path / ".dvc/cache" / weights_key(md5)
    flip_byte(cached)  # the DVC cache
    verify = weightline(released, "verify", "v1.0.0", check=False)
    expect_refusal(verify, "local DVC cache's copy", f"expected {expected}")
    released.weights.unlink()
    released.git("checkout", "--quiet", "--detach", "HEAD")
    checkout = weightline(released, "checkout", "v1.0.0", check=False)
    expect_refusal(checkout, "has SHA-256", f"says {expected}")

    # Serving's own copy (.weightline/versions) is re-hashed on every load.
    frame = tmp_path / "x.csv"
    holdout = pd.read_csv(released.path / "data/holdout/holdout.csv")
    holdout.drop(columns=["target"]).to_csv(frame, index=False)
    weightline(released, "predict", "v1.0.0", "--input", str(frame))
    served = released.path / ".weightline/versions/model@v1.0.0/model.safetensors"
    flip_byte(served)
    predict = weightline(released, "predict", "v1.0.0", "--input", str(frame), check=False)
    expect_refusal(predict, f"has {expected}", "SHA-256")


def test_a_hand_edited_manifest_is_named_by_version_and_field(released: Project):
    path = released.path / "models/manifest.json"
    edited = json.loads(path.read_text())
    edited["metrics"]["accuracy"] = 0.999
    path.write_text(json.dumps(edited, indent=2) + "\n")
    verify = weightline(released, "verify", "--all", check=False)
    expect_refusal(verify, "model@v1.0.0: FAILED", "edited after registration: metrics.accuracy")


def test_truncated_manifest_or_lock_is_a_clear_error(released: Project):
    manifest = released.path / "models/manifest.json"
    manifest.write_text(manifest.read_text()[:200])
    released.dvc("commit", "--force", "manifest")
    commit_without_hook(released, "Truncated manifest")
    expect_refusal(weightline(released, "register", check=False), "not valid JSON", "truncated")
    released.git("reset", "--quiet", "--hard", "HEAD~1")

    lock = released.path / "dvc.lock"
    lock.write_text(lock.read_text()[:333] + "\n  - {{ broken\n")
    commit_without_hook(released, "Truncated lock")
    register = weightline(released, "register", check=False)
    assert register.returncode in (EXIT["IntegrityError"], EXIT["ConfigurationError"])
    assert "Traceback" not in register.stderr and "dvc.lock" in register.stderr, register.stderr


# --- tampering -----------------------------------------------------------------------------------


def retag(project: Project, message: str) -> None:
    """Put model@v1.0.0 on HEAD with this message, as someone with write access could."""
    subprocess.run(
        ["git", "tag", "--force", "--annotate", "--file=-", "model@v1.0.0", "HEAD"],
        cwd=project.path,
        input=message,
        text=True,
        check=True,
        capture_output=True,
    )


def test_moved_or_recreated_version_tags_are_detected(released: Project):
    first = released.git("rev-list", "-n1", "model@v1.0.0")
    message = released.git("tag", "-l", "--format=%(contents)", "model@v1.0.0")
    (released.path / "README.md").write_text("# moved\n")
    commit_without_hook(released, "Another commit")
    # Deleted and re-created on another commit, message copied.
    released.git("tag", "-d", "model@v1.0.0")
    retag(released, message)
    verify = weightline(released, "verify", "--all", check=False)
    expect_refusal(verify, "model@v1.0.0: FAILED", f"registered on {first[:10]}")
    expect_refusal(verify, "was moved or re-created", f"on commit {first[:10]}")

    # Re-created with a forged message naming the new commit: the index still remembers.
    retag(released, message.replace(first, released.git("rev-parse", "HEAD")))
    verify = weightline(released, "verify", "--all", check=False)
    expect_refusal(verify, "model@v1.0.0: FAILED", "was moved or re-created")
    assert f"registered on {first[:10]}" not in verify.stdout  # the message alone looks fine

    # Deleted outright: verify --all still names it.
    released.git("tag", "-d", "model@v1.0.0")
    expect_refusal(weightline(released, "verify", "--all", check=False), "model@v1.0.0: FAILED")
    released.git("tag", "model@v1.0.0", first)  # back, lightweight: not a registration

    # A plain `git push --force` of a moved tag is refused by the pre-push hook.
    released.git("tag", "-f", "-a", "-m", "moved", "model@v1.0.0", "HEAD")
    pushed = released.run("git", "push", "--force", "origin", "model@v1.0.0", check=False)
    assert pushed.returncode != 0 and "moving a version is refused" in pushed.stderr


# --- races and kills -----------------------------------------------------------------------------


def start(project: Project, *args: str) -> subprocess.Popen:
    """`weightline ARGS` running in the background (to race it, or to kill it)."""
    return subprocess.Popen(
        ["python", "-m", "weightline", *args],
        cwd=project.path,
        env=project.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def trained_commits(project: Project, count: int) -> list[str]:
    """`count` commits with different weights (another C each), none registered."""
    commits = []
    for i in range(count):
        set_in_yaml(project.path / "conf/model/logreg.yaml", "C", round(0.15 + 0.1 * i, 2))
        project.dvc("repro")
        commit_without_hook(project, f"C variant {i}")
        commits.append(project.git("rev-parse", "HEAD"))
    return commits


def worktree_at(project: Project, commit: str, where: Path) -> Project:
    """A linked worktree at `commit` with its DVC outputs checked out from the shared cache."""
    project.git("worktree", "add", "--quiet", "--detach", str(where), commit)
    tree = Project(where, project.context)
    tree.dvc("cache", "dir", "--local", str(project.path / ".dvc/cache"))
    tree.dvc("checkout", "--quiet")
    return tree


def test_ten_racing_registrations_get_ten_distinct_versions(released: Project, tmp_path):
    commits = trained_commits(released, 10)
    trees = [worktree_at(released, c, tmp_path / f"tree{i}") for i, c in enumerate(commits)]
    racers = [start(tree, "register") for tree in trees]
    outputs = [racer.communicate(timeout=600) for racer in racers]
    failed = [out for racer, out in zip(racers, outputs, strict=True) if racer.returncode]
    assert not failed, failed
    versions = {}
    for commit in commits:
        on_commit = released.git("tag", "--points-at", commit).split()
        assert len(on_commit) == 1, on_commit
        versions[commit] = on_commit[0]
    assert len(set(versions.values())) == 10
    assert sorted(versions.values()) == sorted(f"model@v1.{i}.0" for i in range(1, 11))
    assert "Traceback" not in "".join(err for _, err in outputs)


def test_two_racing_promotions_leave_a_consistent_history(released: Project):
    trained_commits(released, 1)
    weightline(released, "register")
    weightline(released, "push")
    racers = [start(released, "promote", ref, "--to", "staging") for ref in ("v1.0.0", "v1.1.0")]
    for racer in racers:
        racer.communicate(timeout=300)
    assert [r.returncode for r in racers] == [0, 0]
    numbers = sorted(
        int(name.rsplit("#", 1)[1]) for name in released.git("tag", "-l", "model#*").split()
    )
    assert numbers == [1, 2]
    history = json.loads(weightline(released, "stages", "--history", "--json").stdout)
    holder = json.loads(weightline(released, "stages", "--json").stdout)[0]["version"]
    assert holder == history[-1]["version"]
    gto = json.loads(released.run("gto", "show", "model#staging", "--json").stdout)
    assert gto[0]["version"] == holder


def test_kill_9_during_register_then_the_next_run_recovers(released: Project):
    commits = trained_commits(released, 1)
    for delay in (0.05, 0.2, 0.4, 0.6, 0.9):
        before = tags(released)
        racer = start(released, "register")
        time.sleep(delay)
        racer.send_signal(signal.SIGKILL)
        racer.wait()
        after = tags(released)
        assert after == before or after.count("\n") == before.count("\n") + 1
        if after != before:  # it got as far as the tag: the version is whole
            summary = version_summary(released, "model@v1.1.0")
            assert summary["commit"] == commits[0]
            break
    recovered = weightline(released, "register", "--if-new")
    assert recovered.returncode == 0
    assert released.git("tag", "--points-at", commits[0]) == "model@v1.1.0"
    assert not list((released.path / ".git").rglob("*.lock"))


def test_a_rwlock_left_half_written_by_a_killed_dvc_call_is_set_aside(released: Project):
    """DVC rewrites .dvc/tmp/rwlock in place; a kill -9 mid-write left `{"read": {"` behind."""
    rwlock = released.path / ".dvc/tmp/rwlock"
    rwlock.write_text('{"read": {"')
    assert released.dvc("status", check=False).returncode != 0  # DVC alone is stuck
    done = weightline(released, "verify", "v1.0.0")
    assert "moved it to rwlock.damaged" in done.stderr
    assert (released.path / ".dvc/tmp/rwlock.damaged").read_text() == '{"read": {"'
    assert released.dvc("status", check=False).returncode == 0


def test_kill_9_during_the_manifest_stage_leaves_no_half_written_file(released: Project):
    manifest = released.path / "models/manifest.json"
    good = manifest.read_bytes()
    for delay in (0.1, 0.3, 0.5, 0.8):
        stage = start(released, "manifest")
        time.sleep(delay)
        os.kill(stage.pid, signal.SIGKILL)
        stage.wait()
        assert json.loads(manifest.read_text())["weights"]["sha256"]  # old or new, never half
    weightline(released, "manifest")
    assert manifest.read_bytes() == good  # deterministic: the same run inputs, the same bytes
    assert not list(manifest.parent.glob(".manifest.json.*"))
    assert released.git("status", "--porcelain") == ""


# --- hostile input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "says", "code"),
    [
        (["get", "v1.0.0; touch pwned", "-o", "out"], "not a version or a stage", "NotFound"),
        (["get", "$(touch pwned)", "-o", "out"], "not a version or a stage", "NotFound"),
        (["promote", "v1.0.0", "--to", "production;touch pwned"], "unknown stage", "NotFound"),
        (
            ["promote", "v1.0.0", "--to", "qa"],
            "unknown stage 'qa': .gto allows staging",
            "NotFound",
        ),
        (["get", "v1.0.0", "-o", ".git/objects"], "inside .git/", "Refused"),
        (["get", "v1.0.0", "-o", ".dvc/cache/x"], "inside .dvc/", "Refused"),
        (["get", "v1.0.0", "-o", "README.md"], "is a file", "Refused"),
        (["get", "v1.0.0", "-o", "out\x01"], "control characters", "Refused"),
        (["report", "-o", ".git/config"], "inside .git/", "Refused"),
        (["register", "--version", "v0.0.1"], "is already model@v1.0.0", "Refused"),
        (["show", "../../etc/passwd"], "not a version or a stage", "NotFound"),
        (["resolve", "model#production#1"], "there is no stage tag", "NotFound"),
    ],
)
def test_hostile_arguments_are_refused(released_once: Project, args, says, code):
    """Refusals change nothing, so one project serves every case."""
    project = released_once
    before = (tags(project), project.git("status", "--porcelain"))
    done = weightline(project, *args, check=False)
    expect_refusal(done, says, code=code)
    assert not (project.path / "pwned").exists()
    assert (tags(project), project.git("status", "--porcelain")) == before


def test_hostile_files_for_predict(released: Project, tmp_path):
    latin = tmp_path / "latin.csv"
    header = (released.path / "data/holdout/holdout.csv").read_text().splitlines()[0]
    latin.write_bytes((header.replace("mean_radius", "mean_radiüs") + "\n").encode("latin-1"))
    expect_refusal(
        weightline(released, "predict", "v1.0.0", "--input", str(latin), check=False),
        "is not UTF-8",
        code="Refused",
    )
    (tmp_path / "x.xlsx").write_text("")
    expect_refusal(
        weightline(released, "predict", "v1.0.0", "--input", str(tmp_path / "x.xlsx"), check=False),
        "use a .csv, .parquet or .json",
        code="Refused",
    )


def test_a_wrongly_typed_hydra_override_names_the_field(released: Project):
    done = released.dvc("exp", "run", "-S", "conf/model/logreg.yaml:C=abc", check=False)
    assert done.returncode != 0
    assert "invalid configuration at 'model.C'" in done.stdout + done.stderr


# --- safety --------------------------------------------------------------------------------------


def test_no_unsafe_deserialisation_anywhere(released: Project):
    """No pickle, joblib, or torch.load without weights_only=True in the generated project."""
    import re

    unsafe = re.compile(
        r"\bimport pickle\b|\bfrom pickle\b|\bjoblib\b|allow_pickle\s*=\s*True|"
        r"torch\.load\((?![^)]*weights_only\s*=\s*True)"
    )
    for path in released.path.rglob("*.py"):
        if ".venv" in path.parts:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            assert not unsafe.search(line), f"{path}:{number}: {line}"


def test_credentials_stay_out_of_tracked_files(cookies, tmp_path):
    project = bake(cookies, tmp_path, dvc_remote="s3://creds-bucket/p")
    project.dvc("remote", "modify", "--local", "storage", "access_key_id", "AKIAEXAMPLE")
    project.dvc("remote", "modify", "--local", "storage", "secret_access_key", "very-secret")
    assert "very-secret" in (project.path / ".dvc/config.local").read_text()
    assert project.git("grep", "-l", "very-secret", check=False) == ""
    assert project.git("status", "--porcelain", "--ignored", ".dvc/config.local") == (
        "!! .dvc/config.local"
    )
