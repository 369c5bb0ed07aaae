"""The `link` cache type: rollback by link, and no step of the template writes into the cache."""

import hashlib
import os

import pytest

from .project import bake, sha256, weightline
from .story import set_in_yaml, train_and_commit

pytestmark = pytest.mark.slow


def test_link_cache_rolls_back_by_link_and_keeps_every_cache_entry_whole(cookies, tmp_path):
    project = bake(cookies, tmp_path, dvc_cache="link")
    assert project.dvc("config", "cache.type").stdout.strip() == "reflink,hardlink,symlink"
    train_and_commit(project, "Train the first model")
    first = sha256(project.weights)
    set_in_yaml(project.path / "conf/model/logreg.yaml", "C", 0.3)
    assert "model@v1.1.0" in train_and_commit(project, "Regularise harder")

    weightline(project, "checkout", "v1.0.0")
    weights = project.weights
    assert weights.is_symlink() or os.stat(weights).st_nlink > 1, "a copy, not a link"
    assert sha256(weights) == first
    weightline(project, "checkout", "v1.1.0")

    # A new hold-out set is written as a new file, never into the link the old one is.
    project.dvc("checkout", "--relink", "data/holdout")
    assert os.stat(project.path / "data/holdout/holdout.csv").st_nlink > 1
    set_in_yaml(project.path / "conf/data/default.yaml", "holdout_fraction", 0.3)
    project.run("python", "-m", f"{project.package}.holdout", "--replace")
    project.dvc("add", "data/raw", "data/holdout")
    entries = [p for p in (project.path / ".dvc/cache/files/md5").rglob("*") if p.is_file()]
    assert entries
    for entry in entries:
        if entry.suffix != ".dir":
            digest = hashlib.md5(entry.read_bytes()).hexdigest()
            assert digest == entry.parent.name + entry.name, f"{entry} was written through a link"
