"""The server hook: whatever a client does (`--no-verify`, another tool, a hand-made tag), the
shared repository keeps versions and stage events immutable, weights before tags, and stage
events in one order that weightline and GTO both read."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from weightline import api
from weightline.cli import main
from weightline.store import git

from .microproject import Micro
from .teamclones import Team, check_out, make_team, shared_base

pytestmark = pytest.mark.xdist_group("team")


@pytest.fixture
def team(micro_released: Micro, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Team:
    return make_team(shared_base(micro_released, tmp_path_factory), tmp_path, size=1)


def push(micro: Micro, *refs: str) -> subprocess.CompletedProcess[str]:
    """A plain `git push --no-verify`: no client-side hook, only the server decides."""
    return micro.run("git", "push", "--no-verify", "origin", *refs, check=False)


def tag(micro: Micro, name: str, target: str, message: str = "", date: str = "") -> None:
    env = {**os.environ, **({"GIT_COMMITTER_DATE": date} if date else {})}
    args = ["git", "tag", name, target] if not message else ["git", "tag", "-a", "-m", message]
    if message:
        args += [name, target]
    subprocess.run(args, cwd=micro.path, env=env, check=True, capture_output=True)


def test_install_hook_from_the_command_line(tmp_path: Path, capsys):
    bare = tmp_path / "server.git"
    subprocess.run(["git", "init", "--quiet", "--bare", str(bare)], check=True)
    code = main(["server", "install-hook", str(bare), "--dvc-remote", "/srv/dvc", "--json"])
    assert code == 0
    hook = Path(json.loads(capsys.readouterr().out)["hook"])
    assert hook == bare / "hooks" / "pre-receive" and os.access(hook, os.X_OK)
    assert git.run(bare, "config", "weightline.dvcremote").strip() == "/srv/dvc"
    assert main(["server", "install-hook", str(bare), "--dvc-remote", "/srv/other"]) == 0
    assert git.run(bare, "config", "weightline.dvcremote").strip() == "/srv/other"  # again: fine

    hook.write_text("#!/bin/sh\nexit 0\n")  # someone else's hook is never replaced silently
    code = main(["server", "install-hook", str(bare), "--dvc-remote", "/srv/dvc"])
    assert code == 4 and "is not weightline's" in capsys.readouterr().err
    assert main(["server", "install-hook", str(bare), "--dvc-remote", "/srv/dvc", "--force"]) == 0
    assert main(["server", "install-hook", str(tmp_path / "nothing"), "--dvc-remote", "x"]) == 3


def test_the_server_refuses_every_kind_of_bad_tag_at_once(team: Team):
    (a,) = team.clones
    before = team.server_tags()
    root = a.git("rev-list", "--max-parents=0", "HEAD")  # no manifest there
    v100 = a.git("rev-parse", "model@v1.0.0^{commit}")
    tag(a, "model@v1.8.0", "refs/tags/model@v1.0.0", "a tag of a tag")
    a.git("tag", "-f", "-a", "-m", "moved", "model@v1.0.0", root)  # moved here, to be pushed
    tag(a, "model@v1.5.0", v100)  # lightweight
    tag(a, "model@v1.6.0", root, "Registering artifact model version v1.6.0")
    tag(a, "model@v1.7.0", "HEAD^{tree}", "a tree")
    tag(a, "model@v1.0.0+other", v100, "Registering artifact model version v1.0.0+other")
    tag(a, "model@v1.0.0!", v100, "Deregistering artifact model version v1.0.0")
    tag(a, "model@deprecated", v100, "Deprecating artifact model")
    tag(a, "model#production#9", root, "Assigning stage production to artifact model")
    done = push(
        a,
        "+refs/tags/model@v1.0.0",
        *(
            f"refs/tags/{n}"
            for n in (
                "model@v1.5.0",
                "model@v1.6.0",
                "model@v1.7.0",
                "model@v1.8.0",
                "model@v1.0.0+other",
                "model@v1.0.0!",
                "model@deprecated",
                "model#production#9",
            )
        ),
    )
    assert done.returncode != 0 and "Traceback" not in done.stderr
    said = dict(
        line.partition("refused: ")[2].split(": ", 1)
        for line in done.stderr.splitlines()
        if "weightline: refused: " in line
    )
    for name, reason in {
        "model@v1.0.0": "moving a version or stage tag is refused",
        "model@v1.5.0": "a lightweight tag",
        "model@v1.6.0": "has no models/manifest.json",
        "model@v1.7.0": "it points at a tree",
        "model@v1.8.0": "it points at a tag",
        "model@v1.0.0+other": "its commit already holds model@v1.0.0",
        "model@v1.0.0!": "never deregistered",
        "model@deprecated": "never deregistered or deprecated",
        "model#production#9": "no version of model on its commit",
    }.items():
        assert reason in said.get(name, ""), (name, said)
    assert team.server_tags() == before

    deleted = push(a, ":refs/tags/model@v1.0.0")
    assert "refused: model@v1.0.0: deleting a version or stage tag is refused" in deleted.stderr
    assert team.server_tags() == before
    other = push(a, "HEAD:refs/heads/experiment")  # branches and other tags are not its business
    assert other.returncode == 0, other.stderr


def test_a_version_needs_its_weights_on_the_servers_dvc_remote(team: Team):
    (a,) = team.clones
    check_out(a, "train-1")
    api.register(root=a.path)
    refused = push(a, "refs/tags/model@v1.1.0")
    assert "the DVC remote" in refused.stderr and "does not have its weights" in refused.stderr
    assert "model@v1.1.0" not in team.server_tags()
    a.dvc("push", "--quiet")  # weights first: then the same tag is accepted
    accepted = push(a, "refs/tags/model@v1.1.0")
    assert accepted.returncode == 0, accepted.stderr
    second = a.git("rev-parse", "model@v1.1.0^{commit}")
    tag(a, "model@v1.1.1", second, "Registering artifact model version v1.1.1")
    assert "one version per commit" in push(a, "refs/tags/model@v1.1.1").stderr


def test_stage_events_must_come_after_the_servers_in_number_and_time(team: Team):
    (a,) = team.clones
    v100 = a.git("rev-parse", "model@v1.0.0^{commit}")
    sentence = "Assigning stage staging to artifact model version v1.0.0"
    tag(a, "model#staging#5", v100, sentence, date="2030-01-01T00:00:00+00:00")
    assert push(a, "refs/tags/model#staging#5").returncode == 0
    tag(a, "model#staging#3", v100, sentence, date="2031-01-01T00:00:00+00:00")
    low = push(a, "refs/tags/model#staging#3")
    assert "conflict: model#staging#3: the server's stage events of model go up to #5" in (
        low.stderr
    )
    tag(a, "model#staging!#6", v100, sentence, date="2029-01-01T00:00:00+00:00")
    early = push(a, "refs/tags/model#staging!#6")
    assert "conflict: model#staging!#6: its tag time is not after the newest" in early.stderr
    assert sorted(n for n in team.server_tags() if "#" in n) == ["model#staging#5"]
