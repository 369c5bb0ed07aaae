"""The registry as a database: a SQLite index of versions and stage events, derived from git.

Annotated tags and the manifests at their commits are the truth; `.weightline/index.sqlite` is a
cache of them that answers queries at tens of thousands of versions. One `git for-each-ref` lists
the artifact's tags (skipped when a stat() of git's ref storage shows nothing changed); only tags
whose object id the index has not seen are read, all through one `git cat-file --batch` (tag
objects, then manifest blobs), in one transaction; a rebuild of thousands of tags is read by two
processes on a multi-core machine. Deleting the file loses nothing; a file from an older schema,
for another artifact, or damaged, is rebuilt from scratch.

The index keeps what queries read (a version's fields, metrics, config values, data inputs,
stage events), not the manifests or tag messages themselves: those are read from git when
asked for (`Index.manifest`, `Index.versions`), which keeps the file under 2 KiB a version
(a sixth of what schema 2 took; benchmarks/registry_scale.py). Adding tags
settles only what they change (the common case: a version above every other, on a commit of
its own), so registering one more version costs the same at ten versions as at ten thousand.

Tags that make no version (lightweight, not SemVer, a second version on one commit, a commit
without a manifest, a manifest of another artifact, a stage tag on an unversioned commit) are
skipped with one warning when first seen, and stay listed in the `skipped` view.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from weightline.errors import NotFound, WeightlineError
from weightline.settings import Settings
from weightline.store.gitrefs import (
    Batch,
    Ref,
    TagObject,
    list_refs,
    message_of,
    parse_refs,
    refs_state,
    tag_object,
)

TYPE_CHECKING = False  # `typing` for the type checker only (see settings.py)
if TYPE_CHECKING:  # for annotations only: a warm query imports none of these
    from typing import Any

    from weightline.domain.manifest import Manifest
    from weightline.domain.stages import History, StageEvent
    from weightline.domain.tags import RegisteredVersion

# Imported where used, to keep a warm `weightline query` close to a bare `git for-each-ref`:
# fcntl, hashlib, .semver, .tags, .extract and the rest of weightline (only when the index
# changes or a manifest is read). gitrefs.py does the same for what it needs from git.

SCHEMA_VERSION = 3  # raise on any change to SCHEMA: older files are rebuilt
INDEX_PATH = ".weightline/index.sqlite"

SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value NOT NULL);
CREATE TABLE tag (
    name TEXT PRIMARY KEY,   -- without refs/tags/
    object_id TEXT NOT NULL, -- what for-each-ref reports: the cache key
    kind TEXT NOT NULL,      -- version, stage or other
    commit_id TEXT,
    fault TEXT,              -- why the tag cannot count, known from the tag alone
    skipped TEXT,            -- the fault, or a reason that depends on other tags
    warned TEXT,             -- the reason already warned about
    noticed TEXT             -- when the index first read this object for this name
) WITHOUT ROWID;
-- A version's tag message (with its JSON summary) is not kept: it is read from git with the
-- rows that ask for it (Index._versions), as whole manifests are (Index.manifest).
CREATE TABLE version (
    id INTEGER PRIMARY KEY,  -- what a version's metrics, config and data rows point at
    tag TEXT NOT NULL UNIQUE, version TEXT NOT NULL, major INTEGER, minor INTEGER, patch INTEGER,
    prerelease TEXT, ordinal INTEGER, commit_id TEXT NOT NULL, author TEXT, email TEXT,
    created TEXT, created_epoch INTEGER, bump TEXT, reason TEXT,
    weights_sha256 TEXT, weights_md5 TEXT, weights_size INTEGER, trained_by TEXT,
    trained_email TEXT, host TEXT, started TEXT, ended TEXT, duration_s REAL, python TEXT,
    platform TEXT, environment TEXT, training_rows INTEGER
);
-- Lookups of one version (by commit, by weights) stay indexed at any size; a prefix of a hash
-- is as selective as the whole and makes the index a third of the size. Queries name the
-- prefix in a subquery of its own (see on_commit): beside `commit_id = ?` in one WHERE,
-- SQLite's constant propagation rewrites the expression and no longer matches the index.
CREATE INDEX version_commit ON version (substr(commit_id, 1, 12));
CREATE INDEX version_weights ON version (substr(weights_sha256, 1, 12));
CREATE INDEX version_ordinal ON version (ordinal);
-- A version's metrics, config values and data inputs, keyed by its id: most of the rows in the
-- index, so a small integer instead of the tag in each saves a tenth of the file. They are
-- read per version (by primary key); a scan over all of them for one name costs milliseconds
-- at 10,000 versions, so they carry no second index.
CREATE TABLE metric_value (
    version_id INTEGER, name TEXT, value REAL, PRIMARY KEY (version_id, name)
) WITHOUT ROWID;
CREATE TABLE param_value (
    version_id INTEGER, key TEXT, value TEXT, number REAL, PRIMARY KEY (version_id, key)
) WITHOUT ROWID;
CREATE TABLE data_item (
    version_id INTEGER, path TEXT, role TEXT, md5 TEXT, size INTEGER, nfiles INTEGER,
    rows INTEGER, PRIMARY KEY (version_id, path)
) WITHOUT ROWID;
CREATE TABLE stage_tag (
    tag TEXT PRIMARY KEY, stage TEXT, number INTEGER, assigned INTEGER, commit_id TEXT,
    author TEXT, email TEXT, created TEXT, created_epoch INTEGER, message TEXT, action TEXT,
    by TEXT, at TEXT, reason TEXT, from_version TEXT, gate TEXT,
    version_tag TEXT        -- the version at its commit, resolved after every update
);
CREATE TABLE holder (stage TEXT PRIMARY KEY, tag TEXT NOT NULL, event TEXT NOT NULL);
-- Every (tag, object) read before and no longer current, kept when the tag changes or goes
-- (the current ones are in `tag`): the memory that lets `weightline verify --all` say a
-- version tag was moved, re-created or deleted.
CREATE TABLE seen (
    name TEXT, object_id TEXT, commit_id TEXT, noticed TEXT, PRIMARY KEY (name, object_id)
) WITHOUT ROWID;

CREATE VIEW versions AS
SELECT v.version, v.tag, v.ordinal, v.major, v.minor, v.patch, v.prerelease, v.commit_id,
       v.created, v.created_epoch, v.author, v.email, v.bump, v.reason, v.weights_sha256,
       v.weights_md5, v.weights_size, v.trained_by, v.trained_email, v.host, v.started, v.ended,
       v.duration_s, v.python, v.platform, v.environment, v.training_rows,
       (SELECT group_concat(h.stage, ',') FROM holder h WHERE h.tag = v.tag) AS stages
FROM version v JOIN tag t ON t.name = v.tag WHERE t.skipped IS NULL;
CREATE VIEW metrics AS
SELECT v.version, m.name, m.value FROM metric_value m
JOIN version v ON v.id = m.version_id JOIN tag t ON t.name = v.tag WHERE t.skipped IS NULL;
CREATE VIEW params AS
SELECT v.version, p.key, p.value, p.number FROM param_value p
JOIN version v ON v.id = p.version_id JOIN tag t ON t.name = v.tag WHERE t.skipped IS NULL;
CREATE VIEW data AS
SELECT v.version, d.path, d.role, d.md5, d.size, d.nfiles, d.rows FROM data_item d
JOIN version v ON v.id = d.version_id JOIN tag t ON t.name = v.tag WHERE t.skipped IS NULL;
CREATE VIEW stage_events AS
SELECT s.number, s.stage, s.action, s.assigned, v.version, s.tag, s.at, s.created_epoch AS
       at_epoch, s.by, s.reason, s.from_version, s.gate
FROM stage_tag s JOIN tag t ON t.name = s.tag JOIN version v ON v.tag = s.version_tag
WHERE t.skipped IS NULL;
CREATE VIEW stages AS
SELECT h.stage, v.version, s.number, s.at AS since FROM holder h
JOIN version v ON v.tag = h.tag JOIN stage_tag s ON s.tag = h.event;
CREATE VIEW skipped AS SELECT name AS tag, skipped AS reason FROM tag WHERE skipped IS NOT NULL;
"""


def on_commit(table: str = "version") -> str:
    """SQL for "the version row is on this commit", bound to (commit[:12], commit)."""
    return (
        f"{table}.rowid IN (SELECT rowid FROM version WHERE substr(commit_id, 1, 12) = ?) "
        f"AND {table}.commit_id = ?"
    )


VIEWS = ("versions", "metrics", "params", "data", "stage_events", "stages", "skipped")


class Update:  # a plain class, as in gitrefs.py: importing dataclasses costs a warm query
    """What one update read from git: the tags that were new or changed, and those gone."""

    __slots__ = ("listed", "read", "rebuilt", "removed")

    def __init__(
        self, read: tuple[str, ...], removed: tuple[str, ...], rebuilt: bool, listed: bool = True
    ) -> None:
        self.read, self.removed, self.rebuilt = read, removed, rebuilt
        self.listed = listed  # False when a stat() of git's ref storage showed nothing changed


def number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def text(value: object) -> str:
    """A config value as JSON text (a string as itself)."""
    if isinstance(value, str):
        return value
    # Most config values are plain numbers: what json.dumps writes for them, without calling
    # it (a cold build's hot spot). NaN and infinities, bools and the rest go through it.
    if type(value) is int or (type(value) is float and value - value == 0):
        return repr(value)
    return json.dumps(value, sort_keys=True)


def mapping(value: object) -> dict[str, Any]:
    """A manifest's object, or {} where someone wrote something else."""
    return value if isinstance(value, dict) else {}


def stage_parts(rest: str) -> re.Match[str] | None:
    """`production#7` or `production!#8` (what follows `<artifact>#`), parsed."""
    from weightline.domain.tags import NAME

    return re.match(rf"^(?P<stage>{NAME})(?P<cancel>!?)#(?P<n>\d+)$", rest)


def classify(ref: Ref, artifact: str, tag: TagObject | None) -> tuple[str, str | None]:
    """(kind, fault) of a tag from its name and its object alone."""
    from weightline.domain.semver import is_version

    rest = ref.name[len(artifact) + 1 :]
    sep = ref.name[len(artifact)]
    if sep == "@":
        if not is_version(rest):
            what = {"deprecated": "a GTO deprecation tag"}.get(rest, "not a version like v1.2.3")
            if rest.endswith("!") and is_version(rest[:-1]):
                what = "a GTO deregistration tag (weightline never deregisters)"
            return "other", f"{what}: ignored"
        kind = "version"
    else:
        if not stage_parts(rest):
            return "other", f"not a stage tag like {artifact}#production#7: ignored"
        kind = "stage"
    if tag is None:
        return kind, "its object cannot be read: ignored"
    if tag.object_type != "tag":
        return kind, "a lightweight tag (versions and stages are annotated tags): ignored"
    if tag.target_type != "commit":
        return kind, f"it points at a {tag.target_type}, not at a commit: ignored"
    return kind, None


CHILD_TABLES = ("metric_value", "param_value", "data_item")  # a version's rows, by version_id
VERSION_COLUMNS = (
    "id, tag, version, major, minor, patch, prerelease, commit_id, author, email, created, "
    "created_epoch, bump, reason, weights_sha256, weights_md5, weights_size, trained_by, "
    "trained_email, host, started, ended, duration_s, python, platform, environment, "
    "training_rows"
)


def version_rows(
    artifact: str,
    path: str,
    ref: Ref,
    commit: str,
    tag: dict[str, Any],
    blob: bytes | None,
    version_id: int,
) -> tuple[tuple[Any, ...], tuple[list[tuple[Any, ...]], ...]] | str:
    """The rows of one version tag (its VERSION_COLUMNS, then its rows in each of CHILD_TABLES:
    metrics, config values and data inputs), or why it cannot count (`path`: the manifest's).

    Run once per version in a cold build, so written for speed: tuples, no sorting.
    """
    from weightline.domain.semver import Version
    from weightline.domain.tags import summary_of
    from weightline.store.extract import fields

    if blob is None:
        return f"commit {commit[:10]} has no {path}"
    try:
        manifest = fields(blob, path)
    except WeightlineError as error:
        return f"at commit {commit[:10]}: {error}"
    if manifest["artifact"] != artifact:
        return f"the manifest at its commit is for artifact {manifest['artifact']!r}"
    parsed = Version.parse(ref.name[len(artifact) + 1 :])
    summary = summary_of(tag["message"])
    run, environment = mapping(manifest.get("run")), mapping(manifest.get("environment"))
    weights = mapping(manifest["weights"])
    row = (
        version_id,
        ref.name,
        str(parsed),
        parsed.major,
        parsed.minor,
        parsed.patch,
        parsed.prerelease,
        commit,
        tag["author"],
        tag["email"],
        tag["created"],
        tag["created_epoch"],
        summary.get("bump"),
        summary.get("reason"),
        weights.get("sha256"),
        weights.get("md5"),
        weights.get("size"),
        run.get("user"),
        run.get("email"),
        run.get("host"),
        run.get("started"),
        run.get("ended"),
        run.get("duration_s"),
        environment.get("python"),
        environment.get("platform"),
        json.dumps(environment, sort_keys=True, separators=(",", ":")),
        manifest["training_rows"],
    )
    metrics = [
        (version_id, name, figure)
        for name, value in flat(mapping(manifest["metrics"]))
        if (figure := number(value)) is not None
    ]
    params = [
        (version_id, key, text(value), number(value))
        for key, value in flat(mapping(manifest["config"]))
    ]
    data = mapping(manifest["data"])
    inputs = data.get("inputs") if isinstance(data.get("inputs"), list) else []
    items: list[tuple[dict[str, Any], str]] = [(mapping(i), "input") for i in inputs or []]
    items += [(mapping(data["holdout"]), "holdout")] if data.get("holdout") else []
    data_items = [
        (
            version_id,
            i.get("path"),
            role,
            i.get("md5"),
            i.get("size"),
            i.get("nfiles"),
            i.get("rows"),
        )
        for i, role in items
    ]
    return row, (metrics, params, data_items)


def flat(value: dict[str, Any]) -> list[tuple[str, object]]:
    """What domain.bump.flatten gives (dotted keys, the same depth cap), unsorted: the index
    does not need the order, and a cold build runs this twice per version."""
    from weightline.domain.bump import MAX_DEPTH

    if not any(isinstance(child, dict) for child in value.values()):  # metrics, mostly
        return list(
            dict((key.rstrip("."), child) for key, child in reversed(value.items())).items()
        )
    found: list[tuple[str, object]] = []
    pending: list[tuple[str, object, int]] = [("", value, 0)]
    while pending:
        path, item, depth = pending.pop()
        if isinstance(item, dict) and depth < MAX_DEPTH:
            pending.extend((f"{path}{key}.", child, depth + 1) for key, child in item.items())
        else:
            found.append((path.rstrip("."), item))
    return list(dict(found).items())  # like flatten's dict: a later duplicate key wins


def stage_row(artifact: str, ref: Ref, commit: str, tag: dict[str, Any]) -> dict[str, Any]:
    from weightline.domain.tags import summary_of

    match = stage_parts(ref.name[len(artifact) + 1 :])
    assert match  # classify() let only stage tags through
    summary = summary_of(tag["message"])
    assigned = not match["cancel"]
    gate = summary.get("gate")
    return {
        "tag": ref.name,
        "stage": match["stage"],
        "number": int(match["n"]),
        "assigned": int(assigned),
        "commit_id": commit,
        **tag,
        "action": summary.get("action") or ("assign" if assigned else "unassign"),
        "by": summary.get("by") or tag["author"],
        "at": summary.get("at") or tag["created"],
        "reason": summary.get("reason"),
        "from_version": summary.get("from_version"),
        "gate": json.dumps(gate, sort_keys=True) if gate is not None else None,
    }


def insert(conn: sqlite3.Connection, table: str, rows: list[dict[str, Any]]) -> None:
    if rows:
        columns = list(rows[0])
        conn.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) "
            f"VALUES ({', '.join(':' + c for c in columns)})",
            rows,
        )


CHUNK = 2000  # tags read per round: memory stays flat however many versions there are
SHARE = 1000  # tags a reader process takes at least: fewer are read quicker by one process
# What a reader process writes (see read_in_parallel); the other tables are settled afterwards.
READ_TABLES = ("tag", "version", "stage_tag", *CHILD_TABLES)


def read_new(conn: sqlite3.Connection, settings: Settings, refs: list[Ref]) -> None:
    """Read the given tags, then the manifests at their commits, from git into the index."""
    read_share(conn, settings, refs, next_id(conn))


def next_id(conn: sqlite3.Connection) -> int:
    (last,) = conn.execute("SELECT coalesce(max(id), 0) FROM version").fetchone()
    return int(last) + 1


def read_in_parallel(
    conn: sqlite3.Connection, settings: Settings, refs: list[Ref], scratch: Path
) -> None:
    """read_new for a rebuild (`conn` is on the new file `scratch`), on two cores when it pays.

    A cold build is CPU-bound (10,000 versions: about 2.5 CPU-s of Python and 1 of git's; see
    benchmarks/registry_scale.py). A forked process reads the second half of the tags, with a
    git of its own, into a file beside `scratch` while this one reads the first half; SQLite
    then copies its rows in. The version ids are those one process would give. If the child
    fails, this process reads its half itself, so a failure that is real is raised here.
    """
    from weightline.store import forked

    half = len(refs) // 2
    if half < SHARE or not forked.can_fork():
        read_new(conn, settings, refs)
        return
    first = next_id(conn)
    part = scratch.with_name(scratch.name + ".half")  # removed as a dead rebuild if left

    def read_second_half() -> None:
        share = fresh_file(part, settings)
        share.execute("PRAGMA synchronous = OFF")  # thrown away after the copy
        share.execute("PRAGMA journal_mode = OFF")
        share.execute("BEGIN")
        read_share(share, settings, refs[half:], first + half)
        share.execute("COMMIT")
        share.close()

    try:
        child = forked.start(read_second_half)
    except OSError:  # no process to spare (EAGAIN, ENOMEM): read it all here
        read_new(conn, settings, refs)
        return
    try:
        try:
            read_share(conn, settings, refs[:half], first)
            child_read = forked.succeeded(child)
        except BaseException:
            forked.stop(child)
            raise
        if child_read:  # attached until the rebuild's connection closes (no DETACH in BEGIN)
            conn.execute("ATTACH DATABASE ? AS share", (str(part),))
            for table in READ_TABLES:
                conn.execute(f"INSERT INTO main.{table} SELECT * FROM share.{table}")
        else:
            read_share(conn, settings, refs[half:], first + half)
    finally:
        part.unlink(missing_ok=True)


def read_share(conn: sqlite3.Connection, settings: Settings, refs: list[Ref], first: int) -> None:
    """Read these tags into the index, the version at position i getting the id `first + i`.

    One `git cat-file --batch` process, asked in rounds: a chunk of tag objects (which name the
    commits), then the manifest blob at each of those versions' commits, each worked on as it
    arrives while git reads the next ones.
    """
    import gc

    # Reading makes millions of short-lived dicts and tuples, none in a cycle: the collector's
    # passes over them cost a cold build at 10,000 versions 0.12 s (benchmarks/registry_scale.py).
    collecting = gc.isenabled()
    gc.disable()
    batch = Batch(settings.root)
    try:
        for start in range(0, len(refs), CHUNK):
            store(conn, settings, batch, refs[start : start + CHUNK], first + start)
    finally:
        batch.close()
        if collecting:
            gc.enable()


def store(
    conn: sqlite3.Connection, settings: Settings, batch: Batch, refs: list[Ref], first: int
) -> None:
    """One round: these tags' objects and manifests, classified, into the index's tables (the
    version at position i gets the id `first + i`)."""
    artifact, path = settings.artifact, settings.manifest  # properties: computed once, not per tag
    objects = [tag_object(found) for found in batch.read([r.object_id for r in refs])]
    kinds = [classify(ref, artifact, tag) for ref, tag in zip(refs, objects, strict=True)]
    faults = [fault for _, fault in kinds]
    wanted = [i for i, (kind, fault) in enumerate(kinds) if kind == "version" and not fault]
    # Manifests asked for newest first: git stores a file's versions as deltas of one another,
    # and resolves them for less in this order (10,000 versions in benchmarks/registry_scale.py:
    # 1.1 s of git's CPU instead of 1.7). The rows are kept in the tags' order all the same.
    wanted.sort(key=lambda i: -objects[i].fields["created_epoch"])  # type: ignore[union-attr]  # classify() passed only readable tags
    blobs = batch.stream([f"{objects[i].target_id}:{path}" for i in wanted])  # type: ignore[union-attr]
    versions: dict[int, tuple[tuple[Any, ...], tuple[list[tuple[Any, ...]], ...]]] = {}
    for i in wanted:
        ref, tag = refs[i], objects[i]
        assert tag is not None  # classify() faults a tag whose object cannot be read
        found = next(blobs)  # in the order of `wanted`
        blob = found[1] if found and found[0] == "blob" else None
        read = version_rows(artifact, path, ref, tag.target_id, tag.fields, blob, first + i)
        if isinstance(read, str):
            faults[i] = read
        else:
            versions[i] = read
    for _ in blobs:  # none left: this lets the reader finish its round
        raise AssertionError("git answered more objects than asked for")
    tag_rows: list[tuple[str, str, str, str, str | None]] = []
    version_list: list[tuple[Any, ...]] = []
    stage_list: list[dict[str, Any]] = []
    children: tuple[list[tuple[Any, ...]], ...] = tuple([] for _ in CHILD_TABLES)
    for i, (ref, tag, (kind, _)) in enumerate(zip(refs, objects, kinds, strict=True)):
        commit = tag.target_id if tag and tag.object_type == "tag" else ref.object_id
        if i in versions:
            row, rows = versions[i]
            version_list.append(row)
            for table_rows, more in zip(children, rows, strict=True):
                table_rows += more
        elif faults[i] is None and kind == "stage":
            assert tag is not None
            stage_list.append(stage_row(artifact, ref, commit, tag.fields))
        tag_rows.append((ref.name, ref.object_id, kind, commit, faults[i]))
    noticed = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    conn.executemany(
        "INSERT INTO tag (name, object_id, kind, commit_id, fault, noticed) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [(*row, noticed) for row in tag_rows],
    )
    if version_list:
        marks = ", ".join("?" * len(version_list[0]))
        conn.executemany(f"INSERT INTO version ({VERSION_COLUMNS}) VALUES ({marks})", version_list)
    insert(conn, "stage_tag", stage_list)
    for table, table_rows in zip(CHILD_TABLES, children, strict=True):
        if table_rows:
            marks = ", ".join("?" * len(table_rows[0]))
            conn.executemany(f"INSERT INTO {table} VALUES ({marks})", table_rows)


def forget(conn: sqlite3.Connection, names: Iterable[str]) -> None:
    """Drop the rows of tags that changed or went, keeping what they were in `seen`."""
    rows = [(name,) for name in names]
    conn.executemany(
        "INSERT OR IGNORE INTO seen SELECT name, object_id, commit_id, noticed FROM tag "
        "WHERE name = ?",
        rows,
    )
    for table in CHILD_TABLES:
        conn.executemany(
            f"DELETE FROM {table} WHERE version_id = (SELECT id FROM version WHERE tag = ?)", rows
        )
    for table, column in (("tag", "name"), ("version", "tag"), ("stage_tag", "tag")):
        conn.executemany(f"DELETE FROM {table} WHERE {column} = ?", rows)


def hold(events: list[tuple[int, str, str, bool, str]]) -> dict[str, tuple[str, str]]:
    """stage -> (version tag, event tag) held now, by the rule of stages.holding().

    `events` are (number, event tag, stage, assigned, version tag), sorted by number.
    """
    from weightline.domain.stages import holding

    positions = holding([(stage, version, assigned) for _, _, stage, assigned, version in events])
    return {stage: (events[i][4], events[i][1]) for stage, i in positions.items()}


def resolve_all(conn: sqlite3.Connection, artifact: str) -> None:
    """Decide what depends on several tags, from scratch: one version per commit, SemVer order,
    which stage tags count and who holds each stage."""
    from weightline.domain.semver import Version

    versions = conn.execute(
        "SELECT v.tag, v.version, v.commit_id FROM version v JOIN tag t ON t.name = v.tag"
    ).fetchall()
    parsed = sorted(
        ((Version.parse(version), tag, commit) for tag, version, commit in versions),
        # SemVer order, then the tag; major.minor.patch first, as plain numbers: Versions are
        # compared only when those tie (at 10,000 versions, 10 ms of sorting instead of 70).
        key=lambda item: (item[0].major, item[0].minor, item[0].patch, item[0], item[1]),
    )
    skipped: dict[str, str | None] = {}
    on_commit: dict[str, str] = {}
    seen: dict[Version, str] = {}
    order: list[tuple[int, str]] = []
    for version, tag, commit in parsed:
        if commit in on_commit:
            skipped[tag] = (
                f"commit {commit[:10]} already holds {on_commit[commit]}: one version per commit"
            )
        elif version in seen:
            skipped[tag] = f"the same version as {seen[version]} (only build metadata differs)"
        else:
            on_commit[commit] = seen[version] = tag
            order.append((len(order) + 1, tag))
            skipped[tag] = None
    # Set-wise through a temporary table: 10,000 single-row UPDATEs cost a cold build a second.
    ordinals = {tag: number for number, tag in order}
    conn.execute(
        "CREATE TEMP TABLE IF NOT EXISTS settled "
        "(tag TEXT PRIMARY KEY, ordinal INTEGER, reason TEXT)"
    )
    conn.execute("DELETE FROM settled")
    conn.executemany(
        "INSERT INTO settled VALUES (?, ?, ?)",
        [(tag, ordinals.get(tag), reason) for tag, reason in skipped.items()],
    )
    conn.execute(
        "UPDATE version SET ordinal = (SELECT s.ordinal FROM settled s WHERE s.tag = version.tag)"
    )
    conn.execute("UPDATE tag SET skipped = fault WHERE fault IS NOT NULL")
    conn.execute(
        "UPDATE tag SET skipped = (SELECT s.reason FROM settled s WHERE s.tag = tag.name) "
        "WHERE fault IS NULL AND name IN (SELECT tag FROM settled)"
    )
    conn.execute("DELETE FROM settled")
    resolve_stages(conn, artifact)


def resolve_added(conn: sqlite3.Connection, artifact: str, added: list[str]) -> bool:
    """Settle tags just added to a settled index, touching nothing else, when they only extend
    it: every new version above every counted one, each on a commit that holds no other version
    tag. Returns False (having changed nothing) when they could change what is settled: then
    resolve_all() decides from scratch."""
    from weightline.domain.semver import Version

    if len(added) > 500:  # a fetch of many tags: deciding from scratch is as quick
        return False
    marks = ",".join("?" * len(added))
    new = [
        (Version.parse(version), tag, commit)
        for tag, version, commit in conn.execute(
            f"SELECT tag, version, commit_id FROM version WHERE tag IN ({marks})", added
        )
    ]
    new.sort(key=lambda item: (item[0], item[1]))
    top = conn.execute(
        "SELECT version, ordinal FROM version WHERE ordinal = (SELECT max(ordinal) FROM version)"
    ).fetchone()
    greatest, ordinal = (Version.parse(top[0]), top[1]) if top else (None, 0)
    commits = [commit for _, _, commit in new]
    if len(set(commits)) != len(commits):
        return False
    for version, _, commit in new:
        if greatest is not None and not greatest < version:
            return False
        holders = conn.execute(
            f"SELECT count(*) FROM version WHERE {on_commit()}",
            (commit[:12], commit),
        ).fetchone()[0]
        if holders != 1:  # another version tag on this commit, counted or not
            return False
        greatest = version
    conn.executemany(
        "UPDATE version SET ordinal = ? WHERE tag = ?",
        [(ordinal + i + 1, tag) for i, (_, tag, _) in enumerate(new)],
    )
    conn.execute(f"UPDATE tag SET skipped = fault WHERE name IN ({marks})", added)
    staged = conn.execute(
        f"SELECT 1 FROM stage_tag WHERE tag IN ({marks}) "
        f"OR commit_id IN ({','.join('?' * len(commits))}) LIMIT 1",
        [*added, *commits],
    ).fetchone()
    if staged:  # a new stage tag, or one that waited for a version on its commit
        resolve_stages(conn, artifact)
    return True


def resolve_stages(conn: sqlite3.Connection, artifact: str) -> None:
    """Which stage tags count (those on a commit with a counted version) and who holds each
    stage. Reads the stage tags only, each version by an indexed lookup of its commit."""
    events: list[tuple[int, str, str, bool, str]] = []
    stage_versions: list[tuple[str | None, str]] = []
    skipped: list[tuple[str | None, str]] = []
    for tag, stage, number, assigned, commit in conn.execute(
        "SELECT s.tag, s.stage, s.number, s.assigned, s.commit_id FROM stage_tag s "
        "ORDER BY s.number, s.tag"
    ).fetchall():
        found = conn.execute(
            f"SELECT tag FROM version WHERE {on_commit()} AND ordinal IS NOT NULL",
            (commit[:12], commit),
        ).fetchone()
        holder = found[0] if found else None
        stage_versions.append((holder, tag))
        if holder is None:
            skipped.append((f"no version of {artifact} at its commit {commit[:10]}", tag))
        else:
            skipped.append((None, tag))
            events.append((number, tag, stage, bool(assigned), holder))
    conn.executemany("UPDATE stage_tag SET version_tag = ? WHERE tag = ?", stage_versions)
    conn.execute("DELETE FROM holder")
    conn.executemany(
        "INSERT INTO holder (stage, tag, event) VALUES (?, ?, ?)",
        [(stage, version, event) for stage, (version, event) in hold(events).items()],
    )
    conn.executemany("UPDATE tag SET skipped = ? WHERE name = ? AND fault IS NULL", skipped)


def warn_new(conn: sqlite3.Connection) -> None:
    """One warning per skipped tag and reason; nothing again until the reason changes."""
    fresh = conn.execute(
        "SELECT name, skipped FROM tag WHERE skipped IS NOT NULL "
        "AND (warned IS NULL OR warned != skipped) ORDER BY name"
    ).fetchall()
    for name, reason in fresh:
        print(f"weightline: skipping tag {name}: {reason}", file=sys.stderr)
    conn.execute("UPDATE tag SET warned = skipped WHERE warned IS NOT skipped")


def connect(path: Path) -> sqlite3.Connection:
    """Autocommit mode: updates say BEGIN IMMEDIATE ... COMMIT themselves."""
    return sqlite3.connect(path, isolation_level=None, timeout=60)


def stored_listing(conn: sqlite3.Connection) -> str | None:
    """The digest of the `git for-each-ref` output the index was last brought up to date with."""
    row = conn.execute("SELECT value FROM meta WHERE key = 'listing'").fetchone()
    return str(row[0]) if row else None


def digest(listing: bytes) -> str:
    """A listing's SHA-1: 20 bytes to compare instead of keeping ~70 bytes a tag."""
    import hashlib

    return hashlib.sha1(listing).hexdigest()


def identity(settings: Settings) -> dict[str, str]:
    """What the index is an index of: a file for another artifact or schema is rebuilt."""
    return {
        "schema_version": str(SCHEMA_VERSION),
        "artifact": settings.artifact,
        "manifest": settings.manifest,
    }


def usable(conn: sqlite3.Connection, settings: Settings) -> dict[str, str] | None:
    """The meta table (all but the listing) if the file is an index of this artifact in this
    schema, else None."""
    try:
        found = dict(conn.execute("SELECT key, value FROM meta WHERE key != 'listing'"))
    except sqlite3.DatabaseError:  # missing tables, or not a database at all
        return None
    wanted = identity(settings)
    return found if all(found.get(k) == v for k, v in wanted.items()) else None


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """One updater at a time; readers never wait (SQLite gives them a consistent snapshot)."""
    import fcntl

    with path.with_name(path.name + ".lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def fresh_file(path: Path, settings: Settings) -> sqlite3.Connection:
    """An empty index at `path` (replacing whatever was there), in the current schema."""
    for leftover in (path, path.with_name(path.name + "-journal")):
        leftover.unlink(missing_ok=True)
    conn = connect(path)
    conn.executescript(f"BEGIN; {SCHEMA} COMMIT;")  # one transaction: one sync, not twenty
    conn.executemany("INSERT INTO meta VALUES (?, ?)", identity(settings).items())
    return conn


def remove_dead_rebuilds(path: Path) -> None:
    """A rebuild writes `index.sqlite.<pid>.new` (and its journal) and renames it into place; a
    killed one leaves it behind. Remove those whose process is gone (never a live one's)."""
    for leftover in path.parent.glob(f"{path.name}.*.new*"):
        pid = leftover.name.removeprefix(f"{path.name}.").partition(".")[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            leftover.unlink(missing_ok=True)
        except PermissionError:
            pass  # another user's live process


def update(settings: Settings, path: Path | None = None) -> tuple[sqlite3.Connection, Update]:
    """Bring the index up to date with git's tags; return an open connection and what was read.

    Warm, this costs a stat() of git's ref storage (or, when that changed, one
    `git for-each-ref` compared with the listing the index was built from): nothing is read
    unless a tag is new, changed or gone.
    """
    path = path or settings.root / INDEX_PATH
    state = refs_state(settings.root)
    conn = connect(path) if path.exists() else None
    known = usable(conn, settings) if conn else None
    if conn is not None and known is not None and state and known.get("refs_state") == state:
        return conn, Update((), (), False, listed=False)
    listing = list_refs(settings.root, settings.artifact)
    listed = digest(listing)
    if conn is not None and known is not None and stored_listing(conn) == listed:
        if state is not None:
            conn.execute("PRAGMA busy_timeout = 50")
            with suppress(sqlite3.OperationalError):  # busy: the next run records it instead
                conn.execute("INSERT OR REPLACE INTO meta VALUES ('refs_state', ?)", (state,))
            conn.execute("PRAGMA busy_timeout = 60000")
        return conn, Update((), (), False)
    if conn:
        conn.close()
    refs = parse_refs(listing)
    path.parent.mkdir(parents=True, exist_ok=True)
    with locked(path):
        remove_dead_rebuilds(path)
        conn = connect(path)
        known = usable(conn, settings)
        rebuilt = known is None
        if rebuilt:
            conn.close()
            temporary = path.with_name(f"{path.name}.{os.getpid()}.new")
            conn = fresh_file(temporary, settings)
        try:
            conn.execute("PRAGMA synchronous = NORMAL")  # a cache: durable enough, and faster
            if rebuilt:  # a new file, thrown away on any failure: nothing to roll back
                conn.execute("PRAGMA journal_mode = OFF")
            conn.execute("BEGIN IMMEDIATE")
            stored = dict(conn.execute("SELECT name, object_id FROM tag"))
            new = [ref for ref in refs if stored.get(ref.name) != ref.object_id]
            gone = stored.keys() - {ref.name for ref in refs}
            forget(conn, [*gone, *(ref.name for ref in new if ref.name in stored)])
            if rebuilt:
                read_in_parallel(conn, settings, new, temporary)
            else:
                read_new(conn, settings, new)
            changed = [ref.name for ref in new if ref.name in stored]
            settled = not new or (
                not (gone or changed or rebuilt)
                and resolve_added(conn, settings.artifact, [r.name for r in new])
            )
            if not settled or gone:
                resolve_all(conn, settings.artifact)
            if new or gone or rebuilt:
                warn_new(conn)
            conn.execute(
                "INSERT OR REPLACE INTO meta VALUES ('listing', ?), ('refs_state', ?)",
                (listed, state or ""),
            )
            conn.execute("COMMIT")
        except BaseException:
            with suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            conn.close()
            if rebuilt:
                temporary.unlink(missing_ok=True)
            raise
        if rebuilt:
            conn.close()
            os.replace(temporary, path)
            conn = connect(path)
    return conn, Update(tuple(r.name for r in new), tuple(sorted(gone)), rebuilt)


_VERSION_COLUMNS = "v.tag, v.version, v.commit_id, v.author, v.email, v.created, t.object_id"


class Index:
    """A read view of the up-to-date index: the one reader of the registry.

    Every command, reading or writing, learns the registry's state here. Lookups of one version
    are single indexed queries, so they cost the same at ten versions as at ten thousand.
    """

    def __init__(self, settings: Settings, conn: sqlite3.Connection, last: Update) -> None:
        self.settings = settings
        self.conn = conn
        self.last_update = last

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def rows(self, sql: str, params: Iterable[object] = ()) -> list[dict[str, Any]]:
        cursor = self.conn.execute(sql, tuple(params))
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor]

    def version_rows(self) -> list[dict[str, Any]]:
        """Every counted version, oldest first (SemVer order), as rows of the `versions` view."""
        return self.rows("SELECT * FROM versions ORDER BY ordinal")

    def _versions(
        self, where: str = "", params: Iterable[object] = (), tail: str = ""
    ) -> list[RegisteredVersion]:
        from weightline.domain.semver import Version
        from weightline.domain.tags import RegisteredVersion, Tag, summary_of

        rows = self.conn.execute(
            f"SELECT {_VERSION_COLUMNS} FROM version v JOIN tag t ON t.name = v.tag "
            f"WHERE t.skipped IS NULL {where} {tail}",
            tuple(params),
        ).fetchall()
        messages = tag_messages(self.settings.root, [row[-1] for row in rows])
        found = []
        for (name, version, commit, author, email, created, object_id), message in zip(
            rows, messages, strict=True
        ):
            tag = Tag(name, object_id, commit, "commit", author, email, created, message)
            found.append(
                RegisteredVersion(
                    self.settings.artifact, Version.parse(version), tag, summary_of(message)
                )
            )
        return found

    def versions(self) -> list[RegisteredVersion]:
        """Every version, oldest first (SemVer order)."""
        return self._versions(tail="ORDER BY v.ordinal")

    def version(self, tag: str) -> RegisteredVersion:
        """The version registered by the tag `tag` (a name version_tag() returned)."""
        (found,) = self._versions("AND v.tag = ?", (tag,))
        return found

    def version_at(self, commit: str) -> RegisteredVersion | None:
        """The version registered on `commit`, if any (one version per commit)."""
        found = self._versions(f"AND {on_commit('v')}", (commit[:12], commit))
        return found[0] if found else None

    def with_weights(self, sha256: str) -> RegisteredVersion | None:
        """The oldest version whose weights have this SHA-256, if any."""
        found = self._versions(
            "AND v.rowid IN (SELECT rowid FROM version WHERE substr(weights_sha256, 1, 12) = ?) "
            "AND v.weights_sha256 = ?",
            (sha256[:12], sha256),
            "ORDER BY v.ordinal LIMIT 1",
        )
        return found[0] if found else None

    def greatest(self) -> RegisteredVersion | None:
        """The highest version in SemVer order (what the next bump starts from)."""
        found = self._versions(tail="ORDER BY v.ordinal DESC LIMIT 1")
        return found[0] if found else None

    def has_tag(self, name: str) -> str | None:
        """Whether git has a tag of this name in the artifact's namespace: None if not, else
        why it does not count ("" when it is a counted version or stage tag)."""
        row = self.conn.execute("SELECT coalesce(skipped, '') FROM tag WHERE name = ?", (name,))
        found = row.fetchone()
        return None if found is None else str(found[0])

    def version_tag(self, ref: str) -> str:
        """`v1.2.0`, `model@v1.2.0`, a stage held now (`production`) or a stage tag
        (`model#production#7`) -> the version's tag name.

        Anything else, 'latest' included, is refused with the versions and stages that exist.
        """
        from weightline.domain.semver import Version, is_version

        artifact = self.settings.artifact
        text = ref.removeprefix(f"{artifact}@")
        if is_version(text):
            wanted = Version.parse(text)
            # The tag is the version itself or, with build metadata, `<it>+...`: a range of the
            # primary key (',' follows '+'), so the lookup costs the same at any size.
            exact = (
                f"{artifact}@{Version(wanted.major, wanted.minor, wanted.patch, wanted.prerelease)}"
            )
            for (tag,) in self.conn.execute(
                "SELECT v.tag FROM version v JOIN tag t ON t.name = v.tag "
                "WHERE v.tag >= ? AND v.tag < ? AND t.skipped IS NULL",
                (exact, exact + ","),
            ):
                if Version.parse(tag[len(artifact) + 1 :]) == wanted:
                    return str(tag)
            raise NotFound(f"{artifact}@{text} is not registered; {self.listing()}")
        held = self.conn.execute("SELECT tag FROM holder WHERE stage = ?", (ref,)).fetchone()
        if held:
            return str(held[0])
        if ref in self.settings.stages:
            raise NotFound(f"no version is in {ref} yet; {self.listing()}")
        from weightline.domain.stages import parse_stage_tag  # here: versions are looked up most

        if parse_stage_tag(ref, artifact):
            assigned = self.conn.execute(  # a stage tag: the version it was put on
                "SELECT s.version_tag FROM stage_tag s JOIN tag t ON t.name = s.tag "
                "WHERE s.tag = ? AND t.skipped IS NULL",
                (ref,),
            ).fetchone()
            if assigned:
                return str(assigned[0])
            raise NotFound(f"there is no stage tag {ref}; {self.listing()}")
        raise NotFound(
            f"{ref!r} is not a version or a stage held now: name one exactly "
            f"('latest' is never a target); {self.listing()}"
        )

    def listing(self) -> str:
        versions = [
            v for (v,) in self.conn.execute("SELECT version FROM versions ORDER BY ordinal")
        ]
        shown = ", ".join(versions[-10:]) or "none yet"
        more = f" (and {len(versions) - 10} older)" if len(versions) > 10 else ""
        held = ", ".join(
            f"{stage}={version}"
            for stage, version in self.conn.execute(
                "SELECT stage, version FROM stages ORDER BY stage"
            )
        )
        return f"versions: {shown}{more}; stages: {held or 'none assigned'}"

    def resolve(self, ref: str) -> RegisteredVersion:
        """The version a reference names (see version_tag)."""
        return self.version(self.version_tag(ref))

    def manifest(self, ref: str) -> Manifest:
        """The manifest of a version (by any reference version_tag accepts), read from git at
        the version's commit: the index keeps only the fields queries use."""
        from weightline.domain.manifest import parse
        from weightline.store.manifests import manifest_text

        tag = self.version_tag(ref)
        (commit,) = self.conn.execute(
            "SELECT commit_id FROM version WHERE tag = ?", (tag,)
        ).fetchone()
        return parse(manifest_text(self.settings, commit), f"manifest of {tag}")

    def refresh(self) -> None:
        """Catch up with tags written since this view was opened (say, the one just written)."""
        self.conn.close()
        fresh = open_index(self.settings)
        self.conn, self.last_update = fresh.conn, fresh.last_update

    def tampering(self) -> dict[str, str]:
        """Version tags that were moved, re-created or deleted since the index first saw them."""
        found: dict[str, str] = {}
        current = dict(self.conn.execute("SELECT name, object_id FROM tag"))
        prefix = f"{self.settings.artifact}@v"
        for name, object_id, commit, noticed in self.conn.execute(
            "SELECT name, object_id, commit_id, noticed FROM (SELECT * FROM seen UNION ALL "
            "SELECT name, object_id, commit_id, noticed FROM tag WHERE name IN "
            "(SELECT name FROM seen)) WHERE substr(name, 1, ?) = ? "
            "ORDER BY name, noticed, object_id",
            (len(prefix), prefix),
        ):
            if name in found:
                continue
            if name not in current:
                found[name] = f"was deleted (seen on commit {commit[:10]} on {noticed})"
            elif current[name] != object_id:
                found[name] = (
                    f"was moved or re-created: first seen on {noticed} as tag object "
                    f"{object_id[:10]} on commit {commit[:10]}, now tag object {current[name][:10]}"
                )
        return found

    def stage_holders(self) -> dict[str, str]:
        """stage -> the tag of the version that holds it now (stages held by nobody are absent)."""
        return dict(self.conn.execute("SELECT stage, tag FROM holder ORDER BY stage"))

    def stage_events(self) -> list[StageEvent]:
        """Every counted stage event, in order."""
        from weightline.domain.stages import StageEvent
        from weightline.domain.tags import Tag, summary_of

        found = []
        events = self.rows(
            "SELECT s.*, t.object_id FROM stage_tag s JOIN tag t ON t.name = s.tag "
            "WHERE t.skipped IS NULL ORDER BY s.number, s.tag"
        )
        names = sorted({row["version_tag"] for row in events})
        versions = {
            v.name: v
            for start in range(0, len(names), 500)
            for v in self._versions(
                f"AND v.tag IN ({','.join('?' * len(names[start : start + 500]))})",
                names[start : start + 500],
            )
        }
        for row in events:
            tag = Tag(
                row["tag"],
                row["object_id"],
                row["commit_id"],
                "commit",
                row["author"],
                row["email"],
                row["created"],
                row["message"],
            )
            found.append(
                StageEvent(
                    tag,
                    row["stage"],
                    row["number"],
                    bool(row["assigned"]),
                    versions[row["version_tag"]],
                    summary_of(row["message"]),
                )
            )
        return found

    def history(self) -> History:
        from weightline.domain.stages import History

        return History(self.stage_events())

    def next_stage_number(self) -> int:
        """One more than the highest N on any stage tag of the artifact, counted or not
        (lightweight or foreign ones too: GTO counts them, and a reused N confuses both)."""
        from weightline.domain.stages import parse_stage_tag

        numbers = [
            parsed[1]
            for (name,) in self.conn.execute("SELECT name FROM tag WHERE kind = 'stage'")
            if (parsed := parse_stage_tag(name, self.settings.artifact))
        ]
        return max(numbers, default=0) + 1


def tag_messages(root: Path, object_ids: list[str]) -> list[str]:
    """The messages of these tag objects, read from git in one `git cat-file --batch`."""
    if not object_ids:
        return []
    batch = Batch(root)
    try:
        return [message_of(found) for found in batch.read(object_ids)]
    finally:
        batch.close()


def open_index(settings: Settings) -> Index:
    """The index, brought up to date with git first (reading only tags it has not seen)."""
    try:
        conn, last = update(settings)
    except sqlite3.DatabaseError:
        # A damaged file that still looked like an index: it is a cache, so start over.
        (settings.root / INDEX_PATH).unlink(missing_ok=True)
        conn, last = update(settings)
    return Index(settings, conn, last)


def remember(settings: Settings) -> None:
    """Bring the index up to date right after writing a tag, so it has seen the tag as written.

    A cache: if it cannot be updated now, the next command that reads it catches up.
    """
    with suppress(sqlite3.Error, OSError, WeightlineError):
        open_index(settings).close()


def path_of(settings: Settings) -> Path:
    return settings.root / INDEX_PATH
