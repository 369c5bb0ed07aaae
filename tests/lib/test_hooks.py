"""The git hooks' logic: one writer of versions (the release branch, the configured registrar),
and the pre-push guard."""

from __future__ import annotations

import pytest

from weightline import api
from weightline.errors import Refused
from weightline.store import git

from .microproject import Micro


def test_a_commit_on_a_branch_says_what_a_merge_would_register(released: Micro):
    released.git("switch", "--quiet", "-c", "experiment")
    released.train(0.1, "Try shrinking")
    outcome = api.post_commit(root=released.path)
    assert outcome.action == "preview"
    assert "not the release branch main" in outcome.message
    assert (
        "it would be model@v1.1.0 (minor: config changed: shrink (0.0 -> 0.1))" in outcome.message
    )
    assert released.git("tag", "--points-at", "HEAD") == ""
    released.git("switch", "--quiet", "main")
    released.git("merge", "--quiet", "--ff-only", "experiment")
    done = api.post_commit(root=released.path)
    assert done.action == "registered" and "model@v1.1.0" in done.message


def test_with_ci_as_the_registrar_the_hook_only_previews(released: Micro):
    pyproject = released.path / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace('artifact = "model"', 'artifact = "model"\nregister = "ci"')
    )
    released.train(0.1, "Shrink")
    outcome = api.post_commit(root=released.path)
    assert outcome.action == "preview" and 'register = "ci"' in outcome.message
    assert released.git("tag", "--points-at", "HEAD") == ""


def test_a_commit_that_does_not_retrain_is_left_alone(released: Micro):
    (released.path / "NOTES").write_text("x\n")
    released.git("add", "NOTES")
    released.git("commit", "-qm", "Notes")
    assert api.post_commit(root=released.path).action == "skipped"


def test_a_refusal_is_reported_and_the_commit_stands(released: Micro):
    released.train(0.1, "Shrink")
    (released.path / "dirty").write_text("x\n")  # untracked: registration refuses
    outcome = api.post_commit(root=released.path)
    assert outcome.action == "refused" and "uncommitted changes" in outcome.message


def test_pre_push_refuses_deleting_moving_and_tags_before_weights(two: Micro):
    tag = two.git("rev-parse", "refs/tags/model@v1.0.0")
    lines = [f"(delete) {git.ZERO} refs/tags/model@v1.0.0 {tag}"]
    with pytest.raises(Refused, match="deleting a version tag is refused"):
        api.pre_push(lines, root=two.path)
    other = two.git("rev-parse", "refs/tags/model@v1.1.0")
    with pytest.raises(Refused, match="moving a version is refused"):
        api.pre_push([f"x {other} refs/tags/model@v1.0.0 {tag}"], root=two.path)
    with pytest.raises(Refused, match="does not have its weights yet"):
        api.pre_push([f"x {other} refs/tags/model@v1.1.0 {git.ZERO}"], root=two.path)
    api.push(root=two.path)  # weights first: then the same tag may go
    api.pre_push([f"x {other} refs/tags/model@v1.1.0 {git.ZERO}"], root=two.path)
