"""A rollback by links without DVC (dvc.link) and a get that links: the workspace ends as
`dvc checkout` would leave it (DVC agrees, and has nothing to redo), anything unusual is left to
DVC, nothing that is not a cache link is ever removed, and a corrupt cache entry is caught."""

from __future__ import annotations

import json
import os
import stat
import sys
from datetime import date
from pathlib import Path

import pytest

from weightline import api
from weightline.dvc import link, lock, yamlfiles
from weightline.dvc.cache import cache_types, object_path
from weightline.errors import IntegrityError, WeightlineError
from weightline.store import digest
from weightline.store.digest import Hashes, sha256_file

from .microproject import Micro

LINK_TYPES = ["hardlink", "symlink"]
MODEL = "models/model.safetensors"


def weights_of(micro: Micro, version: str) -> dict:
    commit = micro.git("rev-list", "-n", "1", f"model@{version}")
    return json.loads(micro.git("show", f"{commit}:models/manifest.json"))["weights"]


# Most of a rollback by links, were it imported: DVC (half a second), PyYAML (25 ms), logging
# (15 ms), against a command of about 100 ms in benchmarks/restore_speed.py.
HEAVY = ("dvc.repo", "yaml", "logging")


def checkout_in_a_process(micro: Micro, version: str) -> set[str]:
    """`weightline checkout` in a new process; which of HEAVY it imported (not counting what
    the interpreter had at start, such as coverage's measuring of the suite)."""
    code = (
        "import sys; start = set(sys.modules); from weightline.cli import main; "
        f"code = main(['checkout', {version!r}]); "
        f"new = [m for m in {HEAVY!r} if m in set(sys.modules) - start]; "
        "print('imported:' + ','.join(new)); sys.exit(code)"
    )
    last = micro.run(sys.executable, "-c", code).stdout.splitlines()[-1]
    return set(last.removeprefix("imported:").split(",")) - {""}


def identity(path: Path) -> tuple[int, int]:
    found = os.lstat(path)
    return found.st_ino, found.st_ctime_ns


def assert_dvc_agrees(micro: Micro, paths: list[Path], *targets: str) -> None:
    """`dvc status` finds nothing to do, and `dvc checkout` relinks nothing."""
    before = {path: identity(path) for path in paths}
    assert micro.dvc_status(*targets) == {}
    micro.checkout_outputs(*targets)
    assert {path: identity(path) for path in paths} == before


@pytest.mark.parametrize("cache_type", LINK_TYPES)
def test_a_rollback_by_links_needs_no_dvc_and_dvc_agrees(fresh: Micro, cache_type):
    two = fresh  # trained here: DVC's state holds records of the objects at this path
    for shrink in (0.0, 0.05):
        two.train(shrink, f"Train with shrink {shrink}")
        api.register(root=two.path)
    two.use_cache_type(cache_type)
    api.checkout("v1.0.0", root=two.path)  # each version's cache entry verified once
    api.checkout("v1.1.0", root=two.path)
    assert checkout_in_a_process(two, "v1.0.0") == set()  # each YAML text was parsed before
    weights = weights_of(two, "v1.0.0")
    path = two.path / weights["path"]
    cached = object_path(two.path, weights["md5"])
    assert cached is not None and os.path.samefile(path, cached)
    assert path.is_symlink() == (cache_type == "symlink")
    assert two.git("rev-parse", "HEAD") == two.git("rev-list", "-n", "1", "model@v1.0.0")
    assert sha256_file(path) == weights["sha256"]

    from dvc.repo import Repo

    with Repo(str(two.path)) as repo:  # DVC's state already knows the link: no reading again
        _, hash_info = repo.state.get(str(path), repo.fs)
        assert hash_info is not None and hash_info.value == weights["md5"]
    assert_dvc_agrees(two, [path, two.path / "data/raw/train.csv"])
    assert checkout_in_a_process(two, "v1.1.0") == set()
    assert sha256_file(path) == weights_of(two, "v1.1.0")["sha256"]


def test_a_directory_output_is_linked_file_by_file(two: Micro):
    two.use_cache_type("hardlink")
    first = two.git("rev-parse", "HEAD")
    (two.path / "data/raw/extra.csv").write_text("alpha,beta,gamma,target\n1,2,3,0\n")
    two.dvc("add", "--quiet", "data/raw")
    two.git("commit", "--quiet", "-am", "More training data")
    second = two.git("rev-parse", "HEAD")
    extra = two.path / "data/raw/extra.csv"
    for commit, present in ((first, False), (second, True), (first, False)):
        before = link.outputs(two.path)
        assert before is not None
        two.git("-c", "core.hooksPath=/dev/null", "checkout", "--quiet", "--detach", commit)
        assert link.checkout(two.path, before) is True
        assert extra.exists() == present
        train = two.path / "data/raw/train.csv"
        assert train.stat().st_nlink > 1  # a hard link to its cache entry
        assert_dvc_agrees(two, [train], "data/raw.dvc")  # (the pipeline is not rerun here)


def test_an_object_missing_from_the_cache_is_left_to_dvc(two: Micro):
    two.use_cache_type("hardlink")
    api.checkout("v1.1.0", root=two.path)
    weights = weights_of(two, "v1.0.0")  # pushed with the released version
    cached = object_path(two.path, weights["md5"])
    assert cached is not None
    cached.unlink()
    assert "dvc.repo" in checkout_in_a_process(two, "v1.0.0")  # DVC pulled it
    path = two.path / weights["path"]
    assert os.path.samefile(path, cached) and sha256_file(path) == weights["sha256"]
    assert two.dvc_status() == {}


@pytest.mark.parametrize("cache_type", LINK_TYPES)
def test_a_corrupt_cache_entry_is_caught_and_never_trusted(two: Micro, cache_type, tmp_path):
    two.use_cache_type(cache_type)
    api.checkout("v1.0.0", root=two.path)
    api.checkout("v1.1.0", root=two.path)
    weights = weights_of(two, "v1.0.0")
    cached = object_path(two.path, weights["md5"])
    assert cached is not None
    cached.chmod(0o644)
    cached.write_bytes(b"\0" * weights["size"])  # same size, a new mtime
    with pytest.raises(IntegrityError, match="corrupt"):
        api.checkout("v1.0.0", root=two.path)
    assert Hashes(two.path).known(cached, weights["md5"], weights["size"]) != weights["sha256"]
    # A get warns, as every message of the command line, and takes the remote's copy instead.
    got = two.run(sys.executable, "-m", "weightline", "get", "v1.0.0", "-o", str(tmp_path))
    assert "weightline: the local DVC cache's copy of model@v1.0.0 is corrupt" in got.stderr
    assert sha256_file(tmp_path / Path(weights["path"]).name) == weights["sha256"]


@pytest.mark.parametrize("cache_type", LINK_TYPES)
def test_a_workspace_file_that_is_not_a_cache_link_is_left_to_dvc(two: Micro, cache_type):
    two.use_cache_type(cache_type)
    api.checkout("v1.1.0", root=two.path)
    path = two.path / weights_of(two, "v1.1.0")["path"]
    path.unlink()
    path.write_bytes(b"someone's own weights")  # not in the cache: DVC refuses to delete it
    before = link.outputs(two.path)
    assert before is not None
    with pytest.raises(WeightlineError):
        api.checkout("v1.0.0", root=two.path)
    assert path.read_bytes() == b"someone's own weights"


def test_an_output_the_new_commit_drops_is_removed_only_as_a_cache_link(two: Micro):
    two.use_cache_type("symlink")
    before = {**(link.outputs(two.path) or {}), "models/old.bin": "0" * 32}
    (two.path / "models/old.bin").write_bytes(b"not a cache link")
    assert link.checkout(two.path, before) is False  # left to DVC, the file kept
    assert (two.path / "models/old.bin").read_bytes() == b"not a cache link"
    weights = weights_of(two, "v1.1.0")
    (two.path / "models/old.bin").unlink()
    cached = object_path(two.path, weights["md5"])
    assert cached is not None
    (two.path / "models/old.bin").symlink_to(cached)
    assert link.checkout(two.path, before | {"models/old.bin": weights["md5"]}) is True
    assert not (two.path / "models/old.bin").exists() and cached.exists()


def test_unusual_projects_are_left_to_dvc(released: Micro):
    assert link.outputs(released.path) is not None
    (released.path / ".dvcignore").write_text("data/raw/skip.csv\n")
    released.git("commit", "--quiet", "-am", "ignore a file")
    assert link.outputs(released.path) is None
    (released.path / ".dvcignore").write_text("# nothing\n")
    text = (released.path / "dvc.yaml").read_text()
    (released.path / "dvc.yaml").write_text("vars: [conf/model.yaml]\n" + text)
    assert link.outputs(released.path) is None


def test_the_cache_type_is_read_from_every_level(released: Micro):
    assert cache_types(released.path) == ["reflink", "copy"]  # DVC's default
    released.dvc("config", "cache.type", "reflink,hardlink,symlink")
    assert cache_types(released.path) == ["reflink", "hardlink", "symlink"]
    released.dvc("config", "--local", "cache.type", "symlink")  # the local level wins
    assert cache_types(released.path) == ["symlink"]
    assert link.link_first(["reflink", "hardlink"]) and not link.link_first(["reflink", "copy"])
    with (released.path / ".dvc/config.local").open("a") as config:
        config.write("[cache]\n    type = 'symlink\n")
    assert cache_types(released.path) is None  # not read plainly: unknown


@pytest.mark.parametrize("cache_type", [*LINK_TYPES, "copy"])
def test_get_links_the_verified_cache_entry_with_a_link_cache_type(
    released: Micro, tmp_path, cache_type, monkeypatch
):
    released.use_cache_type(cache_type)
    weights = weights_of(released, "v1.0.0")
    cached = object_path(released.path, weights["md5"])
    assert cached is not None
    fetched = api.get("v1.0.0", tmp_path / "out", root=released.path)
    assert fetched.source == "cache" and fetched.sha256 == weights["sha256"]
    assert os.path.samefile(fetched.weights, cached) == (cache_type != "copy")
    assert fetched.weights.is_symlink() == (cache_type == "symlink")
    if cache_type != "copy":
        assert not stat.S_IMODE(fetched.weights.stat().st_mode) & 0o222  # read-only

        def forbidden(_: Path) -> str:
            raise AssertionError("a link to the verified entry was read again")

        monkeypatch.setattr("weightline.ops.restore.sha256_file", forbidden)
    again = api.get("v1.0.0", tmp_path / "out", root=released.path)  # already there
    assert again.source == "output"
    assert (released.path / digest.STORE).exists()


def test_a_yaml_text_is_parsed_once_and_a_memo_is_used_only_for_its_own_text(tmp_path, monkeypatch):
    text = "stages:\n  train:\n    outs: [models/model.safetensors]\n"
    assert yamlfiles.load(text, tmp_path) == {"stages": {"train": {"outs": [MODEL]}}}
    (memo,) = (tmp_path / yamlfiles.MEMO).iterdir()

    def parse(_: str) -> object:
        raise AssertionError("parsed again")

    with monkeypatch.context() as patched:
        patched.setattr(yamlfiles, "_parse", parse)
        assert yamlfiles.load(text, tmp_path) == {"stages": {"train": {"outs": [MODEL]}}}
    # An entry under the same name for another text (a collision, or a damaged file) is not used.
    memo.write_text(json.dumps({"text": text.upper(), "value": {"stages": "forged"}}))
    assert yamlfiles.load(text, tmp_path)["stages"] != "forged"
    memo.write_text("{ not json")
    assert yamlfiles.load(text, tmp_path)["stages"]["train"]["outs"] == [MODEL]
    # What JSON cannot hold exactly is parsed every time, never kept altered.
    dated = "created: 2026-11-28\n1: one\n"
    assert yamlfiles.load(dated, tmp_path) == {"created": date(2026, 11, 28), 1: "one"}
    assert len(list((tmp_path / yamlfiles.MEMO).glob("*.json"))) == 1
    with pytest.raises(IntegrityError, match=r"(?s)dvc.lock of v9 is not valid YAML .*dvc repro"):
        lock.parse("stages: [unclosed\n", "dvc.lock of v9", tmp_path)
