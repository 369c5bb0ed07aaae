"""The lean index (schema 3): what it keeps, what it reads from git on demand, and that settling
only the tags just added gives the same registry as deciding everything from scratch."""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from pathlib import Path

import pytest

from weightline import api
from weightline.errors import IntegrityError, NotFound
from weightline.settings import load
from weightline.store import index as ix
from weightline.store.extract import fields, split
from weightline.store.query import Query

from .microproject import Micro


def snapshot(root: Path) -> dict[str, list[tuple[object, ...]]]:
    """Everything the documented views say (the registry as users see it)."""
    conn = sqlite3.connect(root / ix.INDEX_PATH)
    try:
        return {
            view: sorted(map(tuple, conn.execute(f"SELECT * FROM {view}")), key=repr)
            for view in ix.VIEWS
        }
    finally:
        conn.close()


def rebuilt(root: Path) -> dict[str, list[tuple[object, ...]]]:
    """The same, from an index built from nothing (in a copy of the index's directory)."""
    (root / ix.INDEX_PATH).unlink()
    api.versions(root=root)
    return snapshot(root)


def tag(micro: Micro, name: str, commit: str = "HEAD", message: str = "") -> None:
    micro.git("tag", "--annotate", "--message", message or f"tag {name}", name, commit)


def empty_commit(micro: Micro, message: str) -> str:
    micro.git("commit", "--quiet", "--allow-empty", "-m", message)
    return micro.git("rev-parse", "HEAD")


def test_an_index_of_an_older_schema_is_rebuilt(released: Micro):
    path = released.path / ix.INDEX_PATH
    api.versions(root=released.path)
    for old in ("1", "2"):
        conn = sqlite3.connect(path)
        conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (old,))
        conn.execute("CREATE TABLE manifest (tag TEXT PRIMARY KEY, body BLOB NOT NULL)")
        conn.commit()
        conn.close()
        assert [v["version"] for v in api.versions(root=released.path)] == ["v1.0.0"]
        conn = sqlite3.connect(path)
        tables = {n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        (schema,) = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        conn.close()
        assert schema == str(ix.SCHEMA_VERSION) == "3"
        assert "manifest" not in tables  # no second copy of every manifest


def test_manifests_read_on_demand_are_the_committed_ones(two: Micro):
    for version in ("v1.0.0", "v1.1.0"):
        commit = two.git("rev-list", "-n", "1", f"model@{version}")
        committed = json.loads(two.git("show", f"{commit}:models/manifest.json"))
        assert api.show(version, root=two.path) == committed
        assert api.show(f"model@{version}", root=two.path) == committed
    rows = api.query(Query(), root=two.path)
    for row in rows:
        manifest = api.show(row["version"], root=two.path)
        assert row["metrics"] == manifest["metrics"]


def test_the_fields_kept_are_the_same_whatever_the_layout(two: Micro):
    commit = two.git("rev-list", "-n", "1", "model@v1.1.0")
    text = two.git("show", f"{commit}:models/manifest.json") + "\n"
    manifest = json.loads(text)
    layouts = {
        "as written (indent=2)": text.encode(),
        "compact": json.dumps(manifest).encode(),
        "indent=4": json.dumps(manifest, indent=4).encode(),
        "keys reversed": json.dumps(dict(reversed(manifest.items())), indent=2).encode(),
    }
    found = {name: fields(blob, "m") for name, blob in layouts.items()}
    first = found["as written (indent=2)"]
    assert all(value == first for value in found.values())
    # The layout weightline writes is read without parsing it whole, whatever the values are.
    assert split(layouts["as written (indent=2)"]) is not None
    assert split(layouts["keys reversed"]) is not None and split(layouts["compact"]) is None
    odd = {key: value for key, value in manifest.items() if key != "metrics"}
    odd |= {
        "config": {},  # an empty object stays on its key's line
        "run": [],
        "note": 'a string with },\n  } and \\n  "x": inside',
        "signature": [{"nested": [1, {"deep": "]"}]}, "\n  ]"],
        "metrics": manifest["metrics"],  # a value on several lines, last in the file
    }
    blob = json.dumps(odd, indent=2).encode()
    kept = split(blob)
    assert kept is not None and kept[0] == {k: odd[k] for k in kept[0]}
    assert kept[1] == {key.encode() for key in odd} and kept[2] == manifest["training_data"]["rows"]
    last_scalar = json.dumps({**odd, "zz": 1.5}, indent=2).encode()  # a one-line value, last
    assert split(last_scalar) is not None
    assert first["metrics"] == manifest["metrics"] and first["config"] == manifest["config"]
    assert first["training_rows"] == manifest["training_data"]["rows"]


def test_a_repeated_key_means_what_json_says_and_a_broken_manifest_is_refused():
    body = {
        "schema_version": 1,
        "artifact": "model",
        "weights": {},
        "data": {},
        "config": {},
        "metrics": {"accuracy": 0.5},
        "signature": {},
    }
    text = json.dumps(body, indent=2)
    repeated = text[:-2] + ',\n  "metrics": {\n    "accuracy": 0.9\n  }\n}'
    assert (
        fields(repeated.encode(), "m")["metrics"]
        == {"accuracy": 0.9}
        == json.loads(repeated)["metrics"]
    )
    with pytest.raises(IntegrityError, match="not valid JSON"):
        fields(text[:-40].encode(), "m")
    with pytest.raises(IntegrityError, match="lacks signature"):
        fields(
            json.dumps({k: v for k, v in body.items() if k != "signature"}, indent=2).encode(), "m"
        )
    escaped = text.replace('"metrics"', '"metr\\u0069cs"')
    assert fields(escaped.encode(), "m")["metrics"] == {"accuracy": 0.5}


def test_adding_tags_one_by_one_gives_the_registry_a_rebuild_gives(two: Micro, monkeypatch):
    """Each step is settled incrementally where it only extends the registry, and from scratch
    where it could change what was settled; after each, the views equal those of an index
    built from nothing."""
    root = two.path
    v1 = two.git("rev-list", "-n", "1", "model@v1.0.0")
    steps: list[str] = []
    from_scratch: list[bool] = []
    whole = ix.resolve_all

    def counted(*args: object) -> None:
        from_scratch.append(True)
        whole(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(ix, "resolve_all", counted)
    api.versions(root=root)

    def check(step: str, incremental: bool) -> None:
        from_scratch.clear()
        api.versions(root=root)  # the update after this step
        steps.append(step)
        assert from_scratch == ([] if incremental else [True]), steps
        assert snapshot(root) == rebuilt(root), steps

    tag(two, "model@v1.2.0", empty_commit(two, "above every version"))
    check("a version above every other", incremental=True)
    tag(two, "model#staging#1", v1)
    check("a stage tag", incremental=True)
    tag(two, "model@v1.1.5", empty_commit(two, "between two versions"))
    check("a version below the greatest", incremental=False)
    tag(two, "model@v1.3.0", v1)
    check("a second version on one commit", incremental=False)
    waiting = empty_commit(two, "a stage event before its version")
    tag(two, "model#production#2", waiting)
    check("a stage tag on a commit with no version", incremental=True)
    tag(two, "model@v1.4.0", waiting)
    check("the version that stage tag waited for", incremental=True)
    tag(two, "model@v1.5.0+build.7", empty_commit(two, "build metadata"))
    tag(two, "model@v1.5.0+build.8", empty_commit(two, "the same version again"))
    check("the same version twice, but for build metadata", incremental=False)
    two.git("tag", "model@v1.6.0", empty_commit(two, "lightweight"))
    check("a lightweight tag", incremental=True)
    two.git("tag", "--delete", "model@v1.2.0")
    check("a version tag deleted", incremental=False)
    listed = [v["version"] for v in api.versions(root=root)]
    assert listed == ["v1.5.0+build.7", "v1.4.0", "v1.1.5", "v1.1.0", "v1.0.0"]


def test_single_version_lookups_find_build_metadata_and_refuse_the_rest(two: Micro):
    tag(two, "model@v1.2.0+build.3", empty_commit(two, "with build metadata"))
    assert api.resolve("v1.2.0", root=two.path).name == "model@v1.2.0+build.3"
    assert api.resolve("v1.2.0+other", root=two.path).name == "model@v1.2.0+build.3"
    tag(two, "model@v1.3.0-rc.1", empty_commit(two, "a pre-release"))
    assert api.resolve("v1.3.0-rc.1", root=two.path).name == "model@v1.3.0-rc.1"
    with pytest.raises(NotFound, match="not registered"):
        api.resolve("v1.3.0", root=two.path)
    settings = load(two.path)
    with ix.open_index(settings) as index:
        head = two.git("rev-parse", "HEAD")
        found = index.version_at(head)
        assert found is not None and found.name == "model@v1.3.0-rc.1"
        assert found.tag.message.startswith("tag model@v1.3.0-rc.1")  # read from git
        weights = api.show("v1.1.0", root=two.path)["weights"]["sha256"]
        same = index.with_weights(weights)
        assert same is not None and same.name == "model@v1.1.0"
        assert index.with_weights("0" * 64) is None


def test_tag_moves_and_deletions_are_remembered(two: Micro):
    api.versions(root=two.path)
    two.git("tag", "--delete", "model@v1.1.0")
    tag(two, "model@v1.1.0", "model@v1.0.0^{commit}")  # re-created elsewhere (a second version)
    settings = load(two.path)
    with ix.open_index(settings) as index:
        found = index.tampering()
    assert list(found) == ["model@v1.1.0"] and "moved or re-created" in found["model@v1.1.0"]
    two.git("tag", "--delete", "model@v1.1.0")
    with ix.open_index(settings) as index:
        assert "was deleted" in index.tampering()["model@v1.1.0"]


def test_the_index_is_smaller_than_what_it_indexes(two: Micro):
    api.versions(root=two.path)
    conn = sqlite3.connect(two.path / ix.INDEX_PATH)
    tables = {n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    columns = {row[1] for row in conn.execute("PRAGMA table_info(version)")}
    conn.close()
    assert "manifest" not in tables
    assert not {"message", "summary", "manifest_blob"} & columns


# A rebuild in a new process (pytest's own may have threads, and then never forks), read by two
# processes from SHARE = 1 on. It prints when it forks and how many shares the parent read (two
# when it read the child's too); `child fails` makes the forked reader raise, as a child that
# runs out of memory would.
REBUILD_IN_TWO = """
import os, sys
from pathlib import Path
from weightline import api
from weightline.store import forked, index

index.SHARE = 1
parent, start, read_share = os.getpid(), forked.start, index.read_share
shares = 0

def announced(work):
    print("forked", flush=True)
    return start(work)

def counted(*args):
    global shares
    if os.getpid() == parent:
        shares += 1
    elif sys.argv[1] == "child fails":
        raise OSError("the reader process fails")
    read_share(*args)

forked.start, index.read_share = announced, counted
api.versions(root=Path.cwd())
print(f"the parent read {shares}")
"""


def assert_two_processes_read_what_one_reads(micro: Micro) -> None:
    """A rebuild read by two processes, the forked one reading or failing, gives the views of a
    rebuild read by this one, and leaves no file behind."""
    root = micro.path
    alone = rebuilt(root)
    for child, shares in (("child reads", 1), ("child fails", 2)):
        (root / ix.INDEX_PATH).unlink()
        done = micro.run(sys.executable, "-c", REBUILD_IN_TWO, child)
        assert done.stdout.splitlines() == ["forked", f"the parent read {shares}"], done.stderr
        assert snapshot(root) == alone, child
        left = sorted(p.name for p in (root / ".weightline").iterdir() if "index" in p.name)
        assert left == ["index.sqlite", "index.sqlite.lock"], child


@pytest.mark.skipif(
    sys.platform != "linux" or len(os.sched_getaffinity(0)) < 2,
    reason="one core, or not Linux: a rebuild is read by one process",
)
def test_a_rebuild_read_by_two_processes_gives_the_registry_one_gives(two: Micro):
    """Tags are split in listing order (stage tags first): versions and tags that count for
    nothing on both sides, then stage tags on both sides."""
    v1 = two.git("rev-list", "-n", "1", "model@v1.0.0")
    tag(two, "model#staging#1", v1)
    tag(two, "model@v1.2.0", empty_commit(two, "above every version"))
    tag(two, "model#production#2", "HEAD")
    tag(two, "model@v1.3.0", v1)  # a second version on one commit
    tag(two, "model@latest", "HEAD")  # not a version
    two.git("tag", "model@v1.4.0", empty_commit(two, "lightweight"))
    tag(two, "model@v1.5.0", empty_commit(two, "the greatest"))
    tag(two, "model@v1.6.0-rc.1", empty_commit(two, "a pre-release"))
    assert_two_processes_read_what_one_reads(two)
    for number in range(3, 12):
        tag(two, f"model#staging{'!' * (number % 2)}#{number}", "model@v1.2.0^{commit}")
    assert_two_processes_read_what_one_reads(two)
    listed = [v["version"] for v in api.versions(root=two.path)]
    assert listed == ["v1.6.0-rc.1", "v1.5.0", "v1.2.0", "v1.1.0", "v1.0.0"]
