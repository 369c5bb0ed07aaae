"""A team, not one laptop: clones sharing one bare origin (server hook installed) and one DVC
remote. The git remote decides; the loser of a race is told, and `--push` decides again."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from weightline import api
from weightline.cli import main
from weightline.errors import EXIT_CODES, Refused

from .microproject import Micro
from .teamclones import (
    Team,
    check_out,
    gto_holders,
    hook_pre_push,
    make_team,
    shared_base,
    weightline_holders,
)

pytestmark = pytest.mark.xdist_group("team")


@pytest.fixture
def team(micro_released: Micro, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Team:
    return make_team(shared_base(micro_released, tmp_path_factory), tmp_path)


def cli(capsys: pytest.CaptureFixture[str], clone: Micro, *argv: str) -> tuple[int, str, str]:
    code = main([*argv])
    out, err = capsys.readouterr()
    return code, out, err


def weights_all_on_remote(team: Team) -> None:
    """Every version the server has: its weights (from its commit's dvc.lock) are on the DVC
    remote, and a fresh clone's `weightline verify --all` says so."""
    fresh = team.fresh_clone(team.origin.parent / "check-clone")
    reports = api.verify(everything=True, root=fresh)
    assert reports and all(r.ok for r in reports), [(r.name, r.problems) for r in reports]


def test_the_loser_of_a_registration_race_is_told_and_registers_next(
    team: Team, capsys, monkeypatch
):
    a, b = team.clones
    check_out(a, "train-1")
    check_out(b, "train-2")
    assert api.register_and_push(root=a.path).registration.version.name == "model@v1.1.0"
    assert api.register(root=b.path).version.name == "model@v1.1.0"  # B has not fetched
    theirs = team.server_tags()["model@v1.1.0"]

    monkeypatch.chdir(b.path)
    for argv in (["push"], ["push", "v1.1.0"]):
        code, out, err = cli(capsys, b, *argv)
        assert code == EXIT_CODES["Conflict"] == 5, (argv, out, err)
        assert "model@v1.1.0: the remote has another tag of this name" in err
        assert "git tag -d model@v1.1.0" in err and "next free version" in err
    assert team.server_tags()["model@v1.1.0"] == theirs  # nothing overwritten

    # CI retrying `register --if-new --push` must not say "nothing to register"
    code, out, err = cli(capsys, b, "register", "--if-new", "--push", "--json")
    assert code == 0, err
    done = json.loads(out)
    assert done["registered"] == "model@v1.2.0" and done["pushed"] == ["model@v1.2.0"]
    assert "deleting ours and registering HEAD again" in err
    server = team.server_tags()
    assert server["model@v1.1.0"] == theirs and "model@v1.2.0" in server
    assert b.git("rev-parse", "model@v1.2.0^{commit}") == b.git("rev-parse", "HEAD")
    assert b.git("rev-parse", "model@v1.1.0^{commit}") == a.git("rev-parse", "HEAD")
    weights_all_on_remote(team)


def test_registering_the_same_commit_twice_in_ci_keeps_the_first(team: Team):
    a, b = team.clones
    commit = check_out(a, "train-1")
    check_out(b, "train-1")
    api.register_and_push(root=a.path)
    api.register(root=b.path)  # the same commit, another tag object
    published = api.register_and_push(if_new=True, root=b.path)
    assert published.registration is None and published.existing.name == "model@v1.1.0"
    assert b.git("rev-parse", "model@v1.1.0") == team.server_tags()["model@v1.1.0"]
    assert b.git("rev-parse", "model@v1.1.0^{commit}") == commit


def test_two_clones_registering_at_once_get_two_versions(team: Team):
    a, b = team.clones
    check_out(a, "train-1")
    check_out(b, "train-2")
    command = [sys.executable, "-m", "weightline", "register", "--push", "--json"]
    running = [
        subprocess.Popen(command, cwd=c.path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for c in (a, b)
    ]
    results = [(p.wait(timeout=300), *p.communicate()) for p in running]
    for code, _, err in results:
        assert code == 0, err.decode()
    names = sorted(json.loads(out)["registered"] for _, out, _ in results)
    assert names == ["model@v1.1.0", "model@v1.2.0"]
    assert set(names) <= set(team.server_tags())
    weights_all_on_remote(team)


def promoted_history(team: Team) -> None:
    """v1.1.0 and v1.2.0 registered; staging: v1.0.0 (#1), then v1.1.0 (#2); all pushed from
    clone A and fetched by B. (Staging, so that no gate runs: the numbering is the same for
    every stage.)"""
    a, b = team.clones
    for branch in ("train-1", "train-2"):
        check_out(a, branch)
        api.register(root=a.path)
    api.promote("v1.0.0", "staging", root=a.path)
    api.promote("v1.1.0", "staging", root=a.path)
    assert len(api.push(root=a.path).stages) == 2
    b.git("fetch", "--quiet", "origin", "--tags")


def test_a_stage_change_made_without_fetching_is_refused_then_made_again(
    team: Team, capsys, monkeypatch
):
    """Issue 11's case: A rolls back (#3, #4) and pushes; B promotes (#3) without fetching."""
    a, b = team.clones
    promoted_history(team)
    rolled, _ = api.rollback_and_push("staging", root=a.path)
    assert rolled.tags == ["model#staging!#3", "model#staging#4"]
    change = api.promote("v1.2.0", "staging", root=b.path)  # B's #3, decided without them
    assert change.tags == ["model#staging#3"]
    before = team.server_tags()

    monkeypatch.chdir(b.path)
    code, _, err = cli(capsys, b, "push")
    assert code == 5, err
    assert "has stage events this clone has not seen" in err
    assert "git tag -d model#staging#3" in err
    code, _, err = cli(capsys, b, "promote", "v1.2.0", "--to", "staging", "--push")
    assert code == 5 and "would not come last" in err, err
    assert team.server_tags() == before  # nothing went up

    b.git("tag", "-d", "model#staging#3")
    code, out, err = cli(capsys, b, "promote", "v1.2.0", "--to", "staging", "--push", "--json")
    assert code == 0, err
    assert json.loads(out)["pushed"] == ["model#staging#5"]
    fresh = team.fresh_clone(team.origin.parent / "fresh")
    assert weightline_holders(fresh) == gto_holders(fresh) == {"staging": "v1.2.0"}


def test_a_push_that_lost_a_stage_race_decides_again(team: Team):
    """B fetched, then A pushed a change: B's `rollback --push` sees A's first and rolls back
    from there (from v1.2.0 to v1.1.0, not from v1.1.0 to v1.0.0)."""
    a, b = team.clones
    promoted_history(team)
    api.promote_and_push("v1.2.0", "staging", root=a.path)  # #3
    change, pushed = api.rollback_and_push("staging", root=b.path)  # B had not fetched #3
    assert change.version.name == "model@v1.1.0" and pushed.stages == change.tags
    assert change.tags == ["model#staging!#4", "model#staging#5"]
    fresh = team.fresh_clone(team.origin.parent / "fresh")
    assert weightline_holders(fresh) == gto_holders(fresh) == {"staging": "v1.1.0"}


def test_push_to_another_dvc_remote_passes_its_own_hook(team: Team, tmp_path: Path):
    """`weightline push --dvc-remote team` checks `team` in its own pre-push hook, not the
    default remote; a plain `git push` of a version the default remote lacks is refused."""
    a, _ = team.clones
    hook_pre_push(a)
    a.dvc("remote", "add", "--local", "team", str(team.remote))
    a.dvc("remote", "modify", "--local", "storage", "url", str(tmp_path / "elsewhere"))
    check_out(a, "train-1")
    api.register(root=a.path)
    assert api.push(dvc_remote="team", root=a.path).versions == ["model@v1.1.0"]
    assert "model@v1.1.0" in team.server_tags()

    check_out(a, "train-2")
    api.register(root=a.path)
    plain = a.run("git", "push", "origin", "model@v1.2.0", check=False)
    assert plain.returncode != 0
    assert "the default DVC remote does not have its weights yet" in plain.stderr
    assert "model@v1.2.0" not in team.server_tags()


def test_the_pre_push_hook_checks_stage_events_against_the_remote(team: Team):
    a, _ = team.clones
    hook_pre_push(a)
    check_out(a, "train-1")
    api.register(root=a.path)  # v1.1.0, not pushed
    api.promote("v1.1.0", "staging", root=a.path)
    early = a.run("git", "push", "origin", "refs/tags/model#staging#1", check=False)
    assert early.returncode != 0
    assert "it assigns model@v1.1.0, which the remote does not have" in early.stderr
    assert api.push(root=a.path).tags == ["model@v1.1.0", "model#staging#1"]
    deleted = a.run("git", "push", "origin", ":refs/tags/model#staging#1", check=False)
    assert "deleting a stage event tag is refused" in deleted.stderr
    assert "model#staging#1" in team.server_tags()


def racer(micro: Micro, other: Micro, *refs: str) -> None:
    """A pre-push hook in `micro` that, once, lets `other` push `refs` first: a race lost
    between deciding and pushing, exactly then."""
    once = micro.path.parent / f"{micro.path.name}-raced"
    hook = micro.path / ".git" / "hooks" / "pre-push"
    hook.write_text(
        "#!/bin/sh\n"
        f'[ -e "{once}" ] && exit 0\n'
        f'touch "{once}"\n'
        f'git -C "{other.path}" push --quiet origin {" ".join(refs)} >/dev/null 2>&1\n'
        "exit 0\n"
    )
    hook.chmod(0o755)


def test_a_registration_race_lost_at_the_last_moment_is_decided_again(team: Team):
    a, b = team.clones
    check_out(a, "train-1")
    check_out(b, "train-2")
    api.register(root=b.path)
    b.dvc("push", "--quiet")  # B's weights are on the DVC remote; its tag goes up in A's hook
    racer(a, b, "refs/tags/model@v1.1.0")
    published = api.register_and_push(root=a.path)
    assert published.attempts == 2
    assert published.registration.version.name == "model@v1.2.0"
    server = team.server_tags()
    assert server["model@v1.1.0"] == b.git("rev-parse", "model@v1.1.0")
    assert server["model@v1.2.0"] == a.git("rev-parse", "model@v1.2.0")
    assert a.git("rev-parse", "model@v1.1.0") == server["model@v1.1.0"]  # theirs, fetched


def test_a_stage_race_lost_at_the_last_moment_is_decided_again(team: Team):
    a, b = team.clones
    api.promote("v1.0.0", "staging", root=b.path)  # model#staging#1, B's
    racer(a, b, "refs/tags/model#staging#1")
    with pytest.raises(Refused, match=r"model@v1.0.0 is already in staging \(model#staging#1\)"):
        api.promote_and_push("v1.0.0", "staging", root=a.path)  # decided again: B did it
    assert "model#staging#2" not in team.server_tags()
    assert a.git("tag", "--list", "model#*").split() == ["model#staging#1"]  # B's, fetched
    assert a.git("rev-parse", "model#staging#1") == team.server_tags()["model#staging#1"]
