"""Stages through the API: promotion order, the gate on committed rules, a hold-out re-base,
rollback history, archive, and stage tags pushed after their weights."""

from __future__ import annotations

import json
import subprocess

import pytest

from weightline import api
from weightline.errors import NotFound, Refused

from .microproject import Micro


def holders(micro: Micro) -> dict[str, str]:
    return api.stage_holders(root=micro.path)


def test_production_needs_staging_then_passes_the_gate(two: Micro):
    with pytest.raises(Refused, match="never been in staging"):
        api.promote("v1.0.0", "production", root=two.path)
    api.promote("v1.0.0", "staging", root=two.path)
    first = api.promote("v1.0.0", "production", reason="first", root=two.path)
    assert first.tags == ["model#production#2"] and first.report is not None
    assert first.report["verdict"] == "pass" and first.report["production"] is None
    assert first.report["evaluator"]["ref"] == "main"
    api.promote("v1.1.0", "staging", root=two.path)
    second = api.promote("v1.1.0", "production", root=two.path)
    assert second.report is not None and second.report["production"] is not None
    assert [c["metric"] for c in second.report["checks"]] == ["accuracy"]
    assert holders(two) == {"production": "v1.1.0", "staging": "v1.1.0"}
    message = two.git("tag", "-l", "--format=%(contents)", second.tags[0])
    record = json.loads(message.split("\n\n", 1)[1])
    assert record["by"] == "Test Runner <runner@example.com>"
    assert record["gate"]["evaluator"]["commit"] == two.git("rev-parse", "main")


def test_rollback_gives_back_the_previous_holder_twice_over(two: Micro):
    for ref in ("v1.0.0", "v1.1.0"):
        api.promote(ref, "staging", root=two.path)
        api.promote(ref, "production", root=two.path)
    change = api.rollback("production", reason="regression", root=two.path)
    assert change.version.name == "model@v1.0.0" and len(change.tags) == 2
    assert holders(two)["production"] == "v1.0.0"
    with pytest.raises(Refused, match="only version"):
        api.rollback("production", root=two.path)
    events = api.stages(history=True, root=two.path)
    assert [e.action for e in events][-2:] == ["rollback", "rollback"]


def test_archive_never_takes_production(two: Micro):
    api.promote("v1.0.0", "staging", root=two.path)
    api.promote("v1.0.0", "production", root=two.path)
    with pytest.raises(Refused, match="is in production"):
        api.archive("v1.0.0", root=two.path)
    api.promote("v1.1.0", "staging", root=two.path)
    archived = api.archive("v1.1.0", reason="superseded", root=two.path)
    assert [t.split("#")[1] for t in archived.tags] == ["staging!", "archived"]
    with pytest.raises(NotFound, match="unknown stage"):
        api.promote("v1.0.0", "canary-typo", root=two.path)


def test_the_gate_runs_the_committed_evaluator_not_the_working_tree(two: Micro):
    api.promote("v1.0.0", "staging", root=two.path)
    api.promote("v1.0.0", "production", root=two.path)
    api.promote("v1.1.0", "staging", root=two.path)
    evaluator = two.path / "src/micro/evaluate.py"
    evaluator.write_text(evaluator.read_text().replace("return {", "return {'accuracy': 1.0} or {"))
    (two.path / "conf/gate.yaml").write_text("metrics: {}\n")
    report = api.gate("v1.1.0", root=two.path)
    assert report["candidate"]["metrics"]["accuracy"] < 1.0
    assert report["candidate"]["metrics"] == api.show("v1.1.0", root=two.path)["metrics"]


def test_a_failing_gate_writes_no_tag(two: Micro):
    api.promote("v1.0.0", "staging", root=two.path)
    api.promote("v1.0.0", "production", root=two.path)
    gate = two.path / "conf/gate.yaml"
    gate.write_text(gate.read_text().replace("tolerance: 0.05", "min_abs_change: 0.5"))
    two.git("commit", "-qam", "Demand a big improvement")
    api.promote("v1.1.0", "staging", root=two.path)
    before = two.git("tag")
    change = api.promote("v1.1.0", "production", root=two.path)
    assert change.tags == [] and change.report is not None and change.report["verdict"] == "fail"
    assert two.git("tag") == before


def new_holdout(micro: Micro) -> None:
    from .microproject import table

    holdout = micro.path / "data/holdout/holdout.csv"
    holdout.unlink()
    holdout.write_text(table(40, seed=3))
    micro.dvc("add", "--quiet", "data/holdout")


def test_a_new_holdout_needs_an_explicit_rebase_and_rollback_stays_right(two: Micro):
    api.promote("v1.0.0", "staging", root=two.path)
    api.promote("v1.0.0", "production", root=two.path)
    new_holdout(two)
    two.train(0.02, "New hold-out set")
    api.register(root=two.path)
    api.promote("v1.2.0", "staging", root=two.path)
    refused = api.promote("v1.2.0", "production", root=two.path)
    assert refused.tags == [] and refused.report is not None
    assert refused.report["verdict"] == "refused"
    assert "hold-out set changed" in refused.report["problems"][0]
    rebased = api.promote("v1.2.0", "production", rebase="new labelled data", root=two.path)
    assert rebased.report is not None and rebased.report["verdict"] == "pass"
    assert rebased.report["rebase"]["reason"] == "new labelled data"
    assert all("absolute threshold" in c["rule"] for c in rebased.report["checks"])
    message = two.git("tag", "-l", "--format=%(contents)", rebased.tags[0])
    assert json.loads(message.split("\n\n", 1)[1])["gate"]["rebase"]["from_holdout"]
    back = api.rollback("production", root=two.path)
    assert back.version.name == "model@v1.0.0" and holders(two)["production"] == "v1.0.0"


def test_stage_tags_are_pushed_after_their_weights(two: Micro):
    api.promote("v1.1.0", "staging", root=two.path)
    pushed = api.push(root=two.path)
    assert pushed.versions == ["model@v1.1.0"] and pushed.stages == ["model#staging#1"]
    origin = two.git("remote", "get-url", "origin")
    listed = subprocess.run(
        ["git", "for-each-ref", "--format=%(refname:strip=2)", "refs/tags"],
        cwd=origin,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert listed == ["model#staging#1", "model@v1.0.0", "model@v1.1.0"]
