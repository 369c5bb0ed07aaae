"""A Hypothesis state machine over two clones of one micro project, sharing a bare origin (the
server hook installed) and one DVC remote: register, promote, rollback, push and fetch, with
and without `--push`, in any interleaving.

After every step: tags on the server never change or disappear; every version on the server has
its weights on the DVC remote; the server's stage events are in one order by number and by time.
Every command that says it published something has put exactly that on the server; every one
that refused changed nothing there and left no tag of its own pretending. At the end of each
run, a fresh clone's `weightline` and `gto show` agree on who holds each stage, and it lists
exactly the server's versions.

Three runs of eight steps by default (about a minute here); WEIGHTLINE_MACHINE_EXAMPLES=N runs
more, and `pytest -s` prints what the commands answered (conflicts included).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)

from weightline import api
from weightline.errors import Conflict, NotFound, Refused
from weightline.ops import server
from weightline.ops.publish import fetch_tags

from .microproject import Micro
from .teamclones import Team, check_out, gto_holders, make_team, shared_base, weightline_holders

pytestmark = [pytest.mark.xdist_group("team"), pytest.mark.slow]

BRANCHES = ("train-2", "train-3", "train-4")
STAGES = ("staging", "production")
EXPECTED = (Conflict, Refused, NotFound)  # what a command may answer in a race; never others
OUTCOMES: Counter[str] = Counter()  # what the commands answered (shown with pytest -s)


def tags_of(path: Path) -> dict[str, str]:
    out = subprocess.run(
        ["git", "for-each-ref", "--format=%(refname:strip=2) %(objectname)", "refs/tags/"],
        cwd=path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return dict(line.split(" ", 1) for line in out.splitlines())


class TwoClones(RuleBasedStateMachine):
    base: Micro  # set by the test
    workspace: Path

    def __init__(self) -> None:
        super().__init__()
        self.place = Path(tempfile.mkdtemp(dir=self.workspace))
        self.team: Team = make_team(self.base, self.place, size=2)
        self.seen = self.team.server_tags()

    def attempt(
        self, clone: Micro, action: Callable[[], Any], published: Callable[[Any], list[str]]
    ) -> None:
        """Run a command; check that what it says it published is on the server, as ours is, and
        that a refusal changed nothing there and left no new tag here that the server lacks."""
        server_before, local_before = self.team.server_tags(), tags_of(clone.path)
        try:
            result = action()
        except EXPECTED as error:
            OUTCOMES[f"{type(error).__name__}: {str(error).splitlines()[0][:70]}"] += 1
            assert self.team.server_tags() == server_before
            server_now, local_now = self.team.server_tags(), tags_of(clone.path)
            pretending = {n for n in local_now if n not in local_before and n not in server_now}
            assert not pretending or not self.pushing, pretending
            return
        OUTCOMES["done"] += 1
        server_now, local_now = self.team.server_tags(), tags_of(clone.path)
        for name in published(result):
            assert server_now.get(name) == local_now.get(name) is not None, name

    pushing = False

    @rule(who=st.integers(0, 1), branch=st.sampled_from(BRANCHES), push=st.booleans())
    def register(self, who: int, branch: str, push: bool) -> None:
        clone = self.team.clones[who]
        check_out(clone, branch)
        self.pushing = push
        if push:

            def names(done: Any) -> list[str]:
                return [(done.registration.version if done.registration else done.existing).name]

            self.attempt(clone, lambda: api.register_and_push(if_new=True, root=clone.path), names)
        else:
            self.attempt(clone, lambda: api.register(if_new=True, root=clone.path), lambda _: [])

    @rule(
        who=st.integers(0, 1),
        pick=st.integers(0, 4),
        stage=st.sampled_from(STAGES),
        push=st.booleans(),
    )
    def promote(self, who: int, pick: int, stage: str, push: bool) -> None:
        clone = self.team.clones[who]
        versions = [row["version"] for row in api.versions(root=clone.path)]
        version = versions[pick % len(versions)]
        self.pushing = push
        if push:
            self.attempt(
                clone,
                lambda: api.promote_and_push(version, stage, root=clone.path),
                lambda done: list(done[1].tags),
            )
        else:
            self.attempt(clone, lambda: api.promote(version, stage, root=clone.path), lambda _: [])

    @rule(who=st.integers(0, 1), stage=st.sampled_from(STAGES), push=st.booleans())
    def rollback(self, who: int, stage: str, push: bool) -> None:
        clone = self.team.clones[who]
        self.pushing = push
        if push:
            self.attempt(
                clone,
                lambda: api.rollback_and_push(stage, root=clone.path),
                lambda done: list(done[1].tags),
            )
        else:
            self.attempt(clone, lambda: api.rollback(stage, root=clone.path), lambda _: [])

    @rule(who=st.integers(0, 1), fetch=st.booleans())
    def exchange(self, who: int, fetch: bool) -> None:
        """`weightline push`, or bring in the remote's tags (never replacing one of ours)."""
        clone = self.team.clones[who]
        if fetch:
            fetch_tags(api.settings(clone.path), "origin")
            OUTCOMES["fetch"] += 1
            return
        self.pushing = True
        self.attempt(clone, lambda: api.push(root=clone.path), lambda done: list(done.tags))

    @invariant()
    def server_tags_never_change_or_go(self) -> None:
        now = self.team.server_tags()
        assert all(now.get(name) == object_id for name, object_id in self.seen.items())
        self.seen = now

    @invariant()
    def every_server_version_has_its_weights(self) -> None:
        origin, remote = self.team.origin, str(self.team.remote)
        for tag in server.read_tags(origin).values():
            if server.VERSION_TAG.match(tag.name):
                md5, problem = server.weights_of(origin, tag.target, "model")
                assert not problem and server.remote_has(remote, {}, md5), (tag.name, problem)

    @invariant()
    def server_stage_events_are_in_one_order(self) -> None:
        events = sorted(
            (int(m["n"]), tag.epoch)
            for tag in server.read_tags(self.team.origin).values()
            if (m := server.STAGE_TAG.match(tag.name))
        )
        times = [epoch for _, epoch in events]
        assert times == sorted(times) and len(set(times)) == len(times), events

    def teardown(self) -> None:
        try:
            fresh = self.team.fresh_clone(self.place / "fresh")
            assert weightline_holders(fresh) == gto_holders(fresh)
            listed = {row["tag"] for row in api.versions(root=fresh)}
            assert listed == {n for n in self.team.server_tags() if "@v" in n}
        finally:
            shutil.rmtree(self.place, ignore_errors=True)


_HISTORY: dict[str, Micro] = {}


def history(micro_released: Micro, factory: pytest.TempPathFactory) -> Micro:
    """The trained base with a history both clones start from (so that races are likely):
    v1.0.0 .. v1.2.0; staging v1.0.0 then v1.1.0; production v1.0.0; all pushed."""
    if "base" not in _HISTORY:
        base = shared_base(micro_released, factory).copy(factory.mktemp("machine") / "project")
        for branch in ("train-1", "train-2"):
            check_out(base, branch)
            api.register(root=base.path)
        api.promote("v1.0.0", "staging", root=base.path)
        api.promote("v1.1.0", "staging", root=base.path)
        api.promote("v1.0.0", "production", root=base.path)
        api.push(root=base.path)
        _HISTORY["base"] = base
    return _HISTORY["base"]


def test_two_clones_in_any_interleaving(
    micro_released: Micro, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
):
    TwoClones.base = history(micro_released, tmp_path_factory)
    TwoClones.workspace = tmp_path
    run_state_machine_as_test(
        TwoClones,
        settings=settings(
            max_examples=int(os.environ.get("WEIGHTLINE_MACHINE_EXAMPLES", "3")),
            stateful_step_count=8,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
    print("\n".join(f"{count:4} {outcome}" for outcome, count in OUTCOMES.most_common()))
