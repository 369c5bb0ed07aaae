"""The API's version verbs against a real micro project: register, list, show, diff, resolve,
push, get, checkout, verify, predict, and their refusals with the right error classes."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from weightline import api
from weightline.errors import (
    Conflict,
    IntegrityError,
    NotFound,
    Refused,
    SignatureError,
)

from .microproject import Micro


def test_first_registration_is_v1_and_recorded(fresh: Micro):
    assert api.versions(root=fresh.path) == []
    commit = fresh.train(0.0, "Train")
    plan = api.preview(root=fresh.path)
    assert plan.name == "model@v1.0.0" and plan.existing is None
    done = api.register(root=fresh.path)
    assert done is not None
    assert (done.version.name, done.version.commit, done.bump.level) == (
        "model@v1.0.0",
        commit,
        "initial",
    )
    message = fresh.git("tag", "-l", "--format=%(contents)", "model@v1.0.0")
    assert message.startswith("Registering artifact model version v1.0.0\n\n")
    summary = json.loads(message.split("\n\n", 1)[1])
    from weightline import __version__

    assert summary["weightline"] == __version__
    manifest = api.show("v1.0.0", root=fresh.path)
    assert manifest["weightline_version"] == __version__
    assert manifest["lock"] == {"path": "requirements.lock", "sha256": None}
    assert manifest["environment"]["packages"]["weightline"] == __version__


def test_one_version_per_commit_and_per_weights(released: Micro):
    with pytest.raises(Refused, match=r"already model@v1.0.0"):
        api.register(root=released.path)
    assert api.register(if_new=True, root=released.path) is None
    (released.path / "README").write_text("docs only\n")
    released.git("add", "README")
    released.git("commit", "-qm", "Docs")
    with pytest.raises(Refused, match=r"already registered as model@v1.0.0"):
        api.register(root=released.path)


def test_bumps_are_derived_and_only_go_up(released: Micro):
    released.train(0.1, "Shrink")
    with pytest.raises(Refused, match="patch bump would understate it"):
        api.register(bump="patch", root=released.path)
    with pytest.raises(Refused, match=r"use v1.1.0 or higher"):
        api.register(version="v1.0.1", root=released.path)
    done = api.register(version="v2.0.0", root=released.path)
    assert done is not None and (done.version.name, done.bump.level) == ("model@v2.0.0", "major")


def test_uncommitted_work_is_refused_and_nothing_is_written(released: Micro):
    released.train(0.2, "Shrink")
    (released.path / "conf/model.yaml").write_text("shrink: 0.3\n")
    before = released.git("tag")
    with pytest.raises(Refused, match="uncommitted changes"):
        api.register(root=released.path)
    assert released.git("tag") == before


def test_a_foreign_tag_on_the_next_name_is_a_conflict_not_a_skip(released: Micro):
    released.train(0.1, "Shrink")
    released.git("tag", "model@v1.1.0", "HEAD~1")  # lightweight: not a version, but the name
    with pytest.raises(Conflict, match=r"model@v1.1.0 already exists but is not a version"):
        api.register(root=released.path)


def test_list_show_diff_resolve(two: Micro):
    rows = api.versions(root=two.path)
    assert [r["version"] for r in rows] == ["v1.1.0", "v1.0.0"]
    assert rows[1]["metrics"]["accuracy"] > 0.9
    assert api.resolve("model@v1.1.0", root=two.path).commit == two.git("rev-parse", "HEAD")
    assert api.resolve("HEAD", root=two.path).name == "model@v1.1.0"
    changed = api.diff("v1.0.0", "v1.1.0", root=two.path)
    assert [c["key"] for c in changed["config"]] == ["shrink"]
    assert not changed["weights"]["same"]
    for ref in ("latest", "v9.9.9", "production", "model#production#1"):
        with pytest.raises(NotFound):
            api.resolve(ref, root=two.path)


def test_push_sends_weights_then_tags_and_get_prefers_the_cache(two: Micro, tmp_path: Path):
    pushed = api.push(root=two.path)
    assert pushed.versions == ["model@v1.1.0"] and pushed.stages == []
    assert api.push(root=two.path).tags == []
    fetched = api.get("v1.1.0", tmp_path / "out", root=two.path)
    assert fetched.source == "cache"
    manifest = json.loads((tmp_path / "out/manifest.json").read_text())
    assert fetched.sha256 == manifest["weights"]["sha256"]
    # Without a local cache, the remote serves it; without either, "push first".
    from .conftest import remove

    remove(two.path / ".dvc/cache")
    again = api.get("v1.1.0", tmp_path / "again", root=two.path)
    assert again.source == "remote" and again.sha256 == fetched.sha256
    remove(two.path / ".dvc/cache")
    remove(two.remote)
    with pytest.raises(NotFound, match="push them first"):
        api.get("v1.0.0", tmp_path / "none", root=two.path)
    assert not (tmp_path / "none/model.safetensors").exists()


def test_a_corrupt_cache_copy_is_replaced_from_the_remote_never_trusted(
    released: Micro, tmp_path: Path
):
    manifest = api.show("v1.0.0", root=released.path)
    md5 = manifest["weights"]["md5"]
    cached = released.path / ".dvc/cache/files/md5" / md5[:2] / md5[2:]
    cached.chmod(0o644)
    cached.write_bytes(cached.read_bytes()[:-1] + b"\0")
    fetched = api.get("v1.0.0", tmp_path / "out", root=released.path)
    assert fetched.source == "remote" and fetched.sha256 == manifest["weights"]["sha256"]
    for copy in released.remote.rglob(md5[2:]):
        copy.chmod(0o644)
        copy.write_bytes(copy.read_bytes()[:-1] + b"\0")
    with pytest.raises(IntegrityError, match="corrupt"):
        api.get("v1.0.0", tmp_path / "bad", root=released.path)
    assert not (tmp_path / "bad/model.safetensors").exists()


def test_checkout_restores_exact_weights(two: Micro):
    expected = api.show("v1.0.0", root=two.path)["weights"]["sha256"]
    version = api.checkout("v1.0.0", root=two.path)
    assert version.name == "model@v1.0.0"
    from weightline.store.digest import sha256_file

    assert sha256_file(two.path / "models/model.safetensors") == expected
    assert two.git("rev-parse", "HEAD") == version.commit


def test_verify_names_what_is_wrong(two: Micro):
    reports = api.verify(everything=True, root=two.path)
    by_name = {r.name: r for r in reports}
    assert by_name["model@v1.0.0"].ok
    assert any("does not have the weights" in p for p in by_name["model@v1.1.0"].problems)
    with pytest.raises(Refused):
        api.verify(root=two.path)


def test_predict_checks_the_signature(inside, released: Micro):
    inside(released)
    frame = pd.read_csv(released.path / "data/holdout/holdout.csv").drop(columns=["target"])
    predictions = api.predict("v1.0.0", frame)
    assert len(predictions) == len(frame)
    with pytest.raises(SignatureError, match="missing columns: beta"):
        api.predict("v1.0.0", frame.drop(columns=["beta"]))
