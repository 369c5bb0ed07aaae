"""Each byte hashed once: a SHA-256 is trusted only for the very file that was hashed, unchanged;
registration reuses the manifest stage's hash; checkout and get verify what they fetch once, never
trust a download, and `get` from the local cache needs no DVC at all."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from weightline import api
from weightline.dvc.cache import object_path
from weightline.errors import IntegrityError
from weightline.store import digest
from weightline.store.digest import Hashes, sha256_file

from .microproject import Micro


def weights_entry(micro: Micro) -> tuple[Path, str, int]:
    manifest = json.loads((micro.path / "models/manifest.json").read_text())
    weights = manifest["weights"]
    return micro.path / weights["path"], weights["md5"], weights["size"]


def test_a_recorded_hash_is_trusted_only_for_the_same_unchanged_file(tmp_path: Path):
    path = tmp_path / "weights.bin"
    path.write_bytes(b"a" * 1000)
    hashes = Hashes(tmp_path)
    first = hashes.sha256(path, "md5-a", 1000)
    assert first == sha256_file(path)
    assert Hashes(tmp_path).known(path, "md5-a", 1000) == first  # recorded on disk
    assert Hashes(tmp_path).known(path, "md5-other", 1000) is None  # another MD5: not trusted

    path.write_bytes(b"b" * 1000)  # changed in place: same size, new mtime
    assert Hashes(tmp_path).known(path, "md5-a", 1000) is None
    assert Hashes(tmp_path).sha256(path, "md5-a", 1000) == sha256_file(path) != first

    stat = path.stat()
    replacement = tmp_path / "new.bin"
    replacement.write_bytes(b"c" * 1000)
    os.utime(replacement, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same size and mtime...
    replacement.replace(path)  # ...but another file (inode): read again
    assert Hashes(tmp_path).known(path, "md5-a", 1000) is None
    assert Hashes(tmp_path).sha256(path, "md5-a", 1000) == sha256_file(path)


def test_a_file_trusted_again_and_again_is_never_the_oldest_to_forget(tmp_path: Path):
    cached = tmp_path / "cache-entry"
    cached.write_bytes(b"w" * 100)
    expected = Hashes(tmp_path).sha256(cached, "md5-w", 100)
    for n in range(3 * digest.KEEP_FILES):  # rollbacks: each trusts the entry, records a copy
        hashes = Hashes(tmp_path)
        assert hashes.known(cached, "md5-w", 100) == expected, n
        copy = tmp_path / f"copy-{n}"
        copy.write_bytes(cached.read_bytes())
        hashes.vouch(copy, "md5-w", 100, expected)
    hashes = Hashes(tmp_path)
    assert hashes.known(tmp_path / "copy-0", "md5-w", 100) is None  # the oldest copy: forgotten
    assert hashes.known(cached, "md5-w", 100) == expected


def test_a_damaged_store_only_costs_hashing_again(tmp_path: Path):
    path = tmp_path / "w"
    path.write_bytes(b"x" * 10)
    (tmp_path / ".weightline").mkdir()
    (tmp_path / digest.STORE).write_text("{not json")
    assert Hashes(tmp_path).sha256(path, "m", 10) == sha256_file(path)
    assert Hashes(tmp_path).known(path, "m", 10) == sha256_file(path)


def test_registration_reuses_the_manifest_stages_hash(fresh: Micro, monkeypatch):
    fresh.train(0.0, "Train")  # the manifest stage (a subprocess) hashed the weights once
    path, md5, size = weights_entry(fresh)
    assert Hashes(fresh.path).known(path, md5, size) is not None

    def forbidden(_: Path) -> str:
        raise AssertionError("the weights were read a second time")

    monkeypatch.setattr(digest, "sha256_file", forbidden)
    done = api.register(root=fresh.path)
    assert done is not None and done.version.name == "model@v1.0.0"


def test_registration_hashes_weights_it_did_not_see_hashed(fresh: Micro):
    fresh.train(0.0, "Train")
    (fresh.path / digest.STORE).unlink()  # say, a fresh clone that pulled the weights
    done = api.register(root=fresh.path)
    assert done is not None
    path, md5, size = weights_entry(fresh)
    assert Hashes(fresh.path).known(path, md5, size) == done.version.summary["weights_sha256"]


def test_the_hook_path_imports_no_numpy_or_pandas_when_the_signature_is_unchanged(released):
    released.train(0.1, "Shrink")
    code = (
        "import sys; from weightline import api; outcome = api.post_commit(); "
        "print(outcome.action, 'pandas' in sys.modules, 'numpy' in sys.modules)"
    )
    out = released.run(sys.executable, "-c", code).stdout.split()
    assert out == ["registered", "False", "False"]


def test_get_from_the_local_cache_needs_no_dvc_and_reads_nothing_twice(released: Micro, tmp_path):
    code = (
        "import sys; from pathlib import Path; from weightline import api; "
        f"done = api.get('v1.0.0', Path({str(tmp_path / 'out')!r})); "
        "print(done.source, 'dvc.repo' in sys.modules)"
    )
    assert released.run(sys.executable, "-c", code).stdout.split() == ["cache", "False"]
    _, md5, size = weights_entry(released)
    cached = object_path(released.path, md5)
    assert cached is not None and Hashes(released.path).known(cached, md5, size)


def test_a_changed_cache_entry_is_read_again_and_never_trusted(released: Micro, tmp_path):
    _, md5, size = weights_entry(released)
    cached = object_path(released.path, md5)
    assert cached is not None
    api.get("v1.0.0", tmp_path / "first", root=released.path)  # verified, recorded
    cached.chmod(0o644)
    cached.write_bytes(b"\0" * size)  # corrupt, same size: its mtime moves
    fetched = api.get("v1.0.0", tmp_path / "second", root=released.path)
    assert fetched.source == "remote"  # the corrupt copy was noticed; the remote's was verified
    assert sha256_file(fetched.weights) == fetched.sha256


def test_a_download_is_always_verified(released: Micro, tmp_path):
    _, md5, size = weights_entry(released)
    cached = object_path(released.path, md5)
    assert cached is not None
    cached.unlink()
    remote = released.remote / "files" / "md5" / md5[:2] / md5[2:]
    remote.chmod(0o644)
    remote.write_bytes(b"\1" * size)
    with pytest.raises(IntegrityError, match="remote's copy"):
        api.get("v1.0.0", tmp_path / "out", root=released.path)
    assert not (tmp_path / "out" / "model.safetensors").exists()


def test_checkout_verifies_once_and_catches_a_changed_cache_entry(two: Micro):
    api.checkout("v1.0.0", root=two.path)
    path, md5, size = weights_entry(two)
    assert Hashes(two.path).known(path, md5, size) is not None  # the checked-out file, vouched
    api.checkout("v1.1.0", root=two.path)
    cached = object_path(two.path, md5)
    assert cached is not None
    cached.chmod(0o644)
    cached.write_bytes(b"\0" * size)  # same size, a new mtime: the record no longer holds
    try:
        api.checkout("v1.0.0", root=two.path)
    except IntegrityError as error:
        assert "corrupt" in str(error)
    else:  # DVC noticed too and fetched a good copy: which was then verified
        assert sha256_file(path) == api.resolve("v1.0.0", root=two.path).summary["weights_sha256"]


@pytest.mark.parametrize("cache_type", ["hardlink", "symlink"])
def test_checkout_with_a_link_cache_type_trusts_the_verified_cache_entry(two: Micro, cache_type):
    two.use_cache_type(cache_type)
    api.checkout("v1.0.0", root=two.path)
    path, md5, size = weights_entry(two)
    cached = object_path(two.path, md5)
    assert cached is not None and os.path.samefile(path, cached)
    assert Hashes(two.path).known(cached, md5, size) is not None
    api.checkout("v1.1.0", root=two.path)
    api.checkout("v1.0.0", root=two.path)  # back: nothing to read, the entry is unchanged
    assert sha256_file(path) == api.resolve("v1.0.0", root=two.path).summary["weights_sha256"]


def test_the_cache_is_found_without_dvc_only_where_no_configuration_moves_it(released: Micro):
    md5 = "0123456789abcdef0123456789abcdef"
    found = object_path(released.path, md5)
    assert found == released.path / ".dvc/cache/files/md5/01/23456789abcdef0123456789abcdef"
    assert object_path(released.path, md5 + ".dir") is None  # a directory: ask DVC
    released.dvc("config", "--local", "cache.type", "hardlink,symlink")  # moves nothing
    assert object_path(released.path, md5) == found
    released.dvc("cache", "dir", "--local", str(released.path.parent / "elsewhere"))
    assert object_path(released.path, md5) is None


def test_checkout_pulls_what_the_local_cache_lacks_and_verifies_it(two: Micro):
    commit = two.git("rev-list", "-n", "1", "model@v1.0.0")
    weights = json.loads(two.git("show", f"{commit}:models/manifest.json"))["weights"]
    cached = object_path(two.path, weights["md5"])
    assert cached is not None
    cached.unlink()  # as in a fresh clone: only the remote has it
    (two.path / digest.STORE).unlink()
    api.checkout("v1.0.0", root=two.path)
    path = two.path / weights["path"]
    assert cached.exists() and sha256_file(path) == weights["sha256"]
    assert Hashes(two.path).known(cached, weights["md5"], weights["size"]) == weights["sha256"]
