"""The rest of the public API: the manifest stage, stage history rows, reading and writing the
files the CLI reads and writes, and what `import weightline` offers training and serving code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import weightline
from weightline import api
from weightline.errors import NotFound, Refused

from .microproject import Micro


def test_write_manifest_is_what_the_pipeline_committed(inside, released: Micro):
    inside(released)
    committed = json.loads((released.path / "models/manifest.json").read_text())
    written = api.write_manifest()
    assert written == committed  # deterministic: the same inputs give the same manifest


def test_stage_history_rows(two: Micro):
    assert api.stage_history(root=two.path) == []
    api.promote("v1.0.0", "staging", reason="try it", root=two.path)
    (row,) = api.stage_history(root=two.path)
    assert (row["stage"], row["version"], row["action"], row["reason"]) == (
        "staging",
        "v1.0.0",
        "promote",
        "try it",
    )
    assert row["by"] == "Test Runner <runner@example.com>"


def test_reading_rows_and_writing_results(released: Micro, tmp_path: Path):
    rows = tmp_path / "rows.json"
    rows.write_text(json.dumps([{"alpha": 1.0, "beta": 2.0, "gamma": 3.0}]))
    assert list(api.read_frame(rows).columns) == ["alpha", "beta", "gamma"]
    with pytest.raises(Exception, match="does not exist"):
        api.read_frame(tmp_path / "missing.csv")
    written = api.write_output(tmp_path / "out.csv", "a\n1\n", root=released.path)
    assert written.read_text() == "a\n1\n"
    with pytest.raises(Refused, match="git and DVC own"):
        api.write_output(released.path / ".git" / "HEAD", "x", root=released.path)
    with pytest.raises(Refused, match="is a directory"):
        api.write_output(tmp_path, "x", root=released.path)


def test_the_package_offers_training_and_serving_names():
    assert {"Run", "Signature", "load_model", "WeightlineError", "__version__"} <= set(
        weightline.__all__
    )
    assert weightline.load_model.__module__ == "weightline.ops.loading"
    with pytest.raises(AttributeError):
        weightline.no_such_name  # noqa: B018


def test_settings_outside_a_project(tmp_path: Path):
    from weightline.settings import find_root

    with pytest.raises(NotFound, match="not inside a git repository"):
        find_root(tmp_path)
