"""The registry as a database through the API, reproduction, and the default relative remote."""

from __future__ import annotations

import uuid
from pathlib import Path

import pandas as pd
import pytest

from weightline import api
from weightline.errors import Refused
from weightline.store.query import Query, parse_where

from .microproject import Micro, create


def test_query_sql_report(two: Micro, tmp_path: Path):
    found = api.query(Query(conditions=tuple(parse_where("config.shrink > 0"))), root=two.path)
    assert [r["version"] for r in found] == ["v1.1.0"]
    names, rows = api.sql("SELECT version FROM versions ORDER BY ordinal", root=two.path)
    assert names == ["version"] and rows == [("v1.0.0",), ("v1.1.0",)]
    with pytest.raises(Refused):
        api.sql("DELETE FROM version", root=two.path)
    page = api.report(tmp_path / "registry.html", root=two.path)
    assert "v1.1.0" in page.read_text()
    with pytest.raises(Refused, match=r"inside .git/"):
        api.report(two.path / ".git" / "config", root=two.path)


def test_drift_of_a_sample(two: Micro):
    sample = pd.read_csv(two.path / "data/raw/train.csv").drop(columns=["target"])
    same = api.drift("v1.0.0", sample, root=two.path)
    assert same["version"] == "model@v1.0.0" and same["moved"] == []
    moved = api.drift("v1.0.0", sample.assign(alpha=sample["alpha"] + 10), root=two.path)
    assert moved["moved"] == ["alpha"]


def test_reproduce_is_bit_exact_and_names_the_lock(released: Micro):
    result = api.reproduce("v1.0.0", root=released.path)
    assert result.verdict == "bit-exact", result.lines()
    assert result.differences["lock"] == [
        "the version has no requirements.lock: its environment was not locked"
    ]


def test_reproduce_says_which_packages_differ_from_the_lock(fresh: Micro):
    import importlib.metadata

    numpy = importlib.metadata.version("numpy")
    (fresh.path / "requirements.lock").write_text(
        f"numpy=={numpy} \\\n    --hash=sha256:00\nnot-installed-anywhere==1.2.3\n"
    )
    fresh.git("add", "requirements.lock")
    fresh.train(0.0, "Train, locked")
    api.register(root=fresh.path)
    from weightline.ops.reproduce import lock_differences

    commit = fresh.git("rev-parse", "HEAD")
    assert lock_differences(api.settings(fresh.path), commit) == [
        "not-installed-anywhere: locked 1.2.3, installed nothing"
    ]
    manifest = api.show("v1.0.0", root=fresh.path)
    assert manifest["lock"]["sha256"] is not None


def test_the_default_relative_remote_works_for_every_revision(tmp_path: Path):
    """DVC resolves `../x` against `/` for revisions other than the workspace (FACTS.md)."""
    name = f"micro-{uuid.uuid4().hex[:8]}-storage"
    micro = create(tmp_path / "project")
    micro.dvc("remote", "modify", "storage", "url", f"../{name}")  # as the template's default
    micro.git("commit", "-qam", "The default relative remote")
    before = set(Path("/").iterdir())
    micro.train(0.0, "First")
    api.register(root=micro.path)
    micro.train(0.1, "Second, before any push")
    api.register(root=micro.path)
    from .microproject import add_origin

    add_origin(micro)
    pushed = api.push(root=micro.path)
    assert pushed.versions == ["model@v1.0.0", "model@v1.1.0"]
    assert all(r.ok for r in api.verify(everything=True, root=micro.path))
    assert (tmp_path / name).is_dir()  # beside the project, where the relative path points
    assert set(Path("/").iterdir()) == before, "something was written outside the project"
    fetched = api.get("v1.0.0", tmp_path / "out", root=micro.path)
    assert fetched.sha256 == api.show("v1.0.0", root=micro.path)["weights"]["sha256"]
