"""The public Python API: one function per verb, what the CLI, CI scripts and serving code call.

Every function finds the project from `root` (default: the git work tree around the current
directory), reads the registry through the index, and raises a subclass of `WeightlineError`
(see weightline.errors) on anything expected to go wrong. Results are typed: records
(weightline.domain.record) and dataclasses for values, TypedDicts for JSON documents (manifests,
gate reports, diffs, drift reports; dicts at run time). Imports are deferred so that
`import weightline.api` stays cheap.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

TYPE_CHECKING = False  # `typing` for the type checker only (see weightline.settings)
if TYPE_CHECKING:
    from typing import Any, TypedDict

    import pandas as pd

    from weightline.domain.bump import Level
    from weightline.domain.drift import SampleDriftReport
    from weightline.domain.gate import Report
    from weightline.domain.manifest import Manifest
    from weightline.domain.stages import StageEvent
    from weightline.domain.tags import RegisteredVersion
    from weightline.ops.hooks import HookOutcome
    from weightline.ops.loading import LoadedModel
    from weightline.ops.promote import StageChange
    from weightline.ops.publish import Published, Pushed
    from weightline.ops.register import Plan, Registration
    from weightline.ops.reproduce import Result
    from weightline.ops.restore import Fetched
    from weightline.ops.verify import Report as VerifyReport
    from weightline.settings import Settings
    from weightline.store.query import Query


if TYPE_CHECKING:  # at run time, a dict

    class VersionRow(TypedDict):
        """One line of `weightline ls`."""

        version: str
        tag: str
        created: str
        author: str
        commit: str
        stages: list[str]
        bump: str
        metrics: dict[str, Any]


def settings(root: Path | None = None) -> Settings:
    """The project's settings: `[tool.weightline]` in pyproject.toml, dvc.yaml and .gto."""
    from weightline.settings import load

    return load(root)


# ---- versions -----------------------------------------------------------------------------


def write_manifest(root: Path | None = None) -> Manifest:
    """Write models/manifest.json from dvc.lock and the run's records (the last pipeline stage)."""
    from weightline.ops.manifest import write

    return write(settings(root))


def register(
    bump: Level | None = None,
    version: str | None = None,
    if_new: bool = False,
    root: Path | None = None,
) -> Registration | None:
    """Tag HEAD as the next version (bump derived from what changed), or refuse and say why.

    `bump` or `version` may only go upward. With `if_new`, HEAD (or its weights) already being a
    version returns None instead of refusing.
    """
    from weightline.ops.register import register as register_head

    return register_head(settings(root), bump, version, if_new)


def preview(root: Path | None = None) -> Plan:
    """The version HEAD would get (or already is), writing nothing."""
    from weightline.ops.register import preview as preview_commit
    from weightline.store import git

    found = settings(root)
    return preview_commit(found, git.head(found.root))


def push(
    refs: Sequence[str] = (),
    git_remote: str | None = None,
    dvc_remote: str | None = None,
    stages: bool = True,
    root: Path | None = None,
) -> Pushed:
    """Weights to the DVC remote first, then version (and stage) tags to git, all or none.

    `refs` limits it to those versions; a name the git remote has with other content is a
    Conflict and nothing is pushed.
    """
    from weightline.ops.publish import push as push_tags

    found = settings(root)
    names = [resolve(ref, found.root).name for ref in refs] or None
    return push_tags(found, names, git_remote, dvc_remote, stages=stages and names is None)


def register_and_push(
    bump: Level | None = None,
    version: str | None = None,
    if_new: bool = False,
    git_remote: str | None = None,
    dvc_remote: str | None = None,
    root: Path | None = None,
) -> Published:
    """Register HEAD on top of the git remote's versions and push it (weights, then the tag).

    What CI runs. If another clone pushes the same name first, the tag written here is deleted
    and HEAD is registered again as the next free version (a few times), or a Conflict names
    theirs. With `if_new`, HEAD (or its weights) already being a version on the remote is not an
    error: the result names that version.
    """
    from weightline.ops.publish import register_and_push as publish

    return publish(settings(root), bump, version, if_new, git_remote, dvc_remote)


def resolve(ref: str, root: Path | None = None) -> RegisteredVersion:
    """The exact version a reference names: `v1.2.0`, `model@v1.2.0`, a stage held now
    (`production`), a stage tag (`model#production#7`) or `HEAD`. "latest" is never one."""
    from weightline.ops.lookup import resolve as resolve_ref

    return resolve_ref(settings(root), ref)


def versions(root: Path | None = None) -> list[VersionRow]:
    """Every version, newest first, with its stages and key metrics."""
    from weightline.store.index import open_index

    with open_index(settings(root)) as index:
        found, held = index.versions(), index.stage_holders()
    stages: dict[str, list[str]] = {}
    for stage, tag in held.items():
        stages.setdefault(tag, []).append(stage)
    return [
        {
            "version": str(v.version),
            "tag": v.name,
            "created": v.tag.date,
            "author": v.tag.tagger,
            "commit": v.commit,
            "stages": sorted(stages.get(v.name, [])),
            "bump": str(v.summary.get("bump", "?")),
            "metrics": dict(v.summary.get("metrics", {})),
        }
        for v in reversed(found)
    ]


def show(ref: str, root: Path | None = None) -> Manifest:
    """The manifest of a version."""
    from weightline.store.index import open_index

    with open_index(settings(root)) as index:
        return index.manifest(ref)


def diff(old: str, new: str, root: Path | None = None) -> dict[str, Any]:
    """Two versions compared: config, data, metrics, signature, training-data drift, weights."""
    from weightline.domain.compare import diff as compare
    from weightline.store.index import open_index

    with open_index(settings(root)) as index:
        a, b = index.resolve(old), index.resolve(new)
        result = compare(index.manifest(a.name), index.manifest(b.name))
    return {"old": a.name, "new": b.name, **result}


def checkout(ref: str, root: Path | None = None) -> RegisteredVersion:
    """`git checkout` the version's commit and pull its weights, verified; refuses over
    uncommitted work."""
    from weightline.ops.restore import checkout as checkout_version

    found = settings(root)
    return checkout_version(found, resolve(ref, found.root))


def get(ref: str, output: Path, dvc_remote: str | None = None, root: Path | None = None) -> Fetched:
    """The version's weights, manifest and signature in `output`, verified (from the local DVC
    cache when it has them, else the remote); the working tree is untouched."""
    from weightline.ops.restore import get as get_version

    found = settings(root)
    return get_version(found, resolve(ref, found.root), output, dvc_remote)


def verify(
    refs: Sequence[str] = (), everything: bool = False, root: Path | None = None
) -> list[VerifyReport]:
    """Check tags, manifests, dvc.lock, the cache, the remote and SHA-256 agree."""
    from weightline.errors import Refused
    from weightline.ops.verify import verify_registry

    if everything == bool(refs):
        raise Refused("name the versions to verify, or all of them (not both)")
    return verify_registry(settings(root), list(refs), everything)


# ---- stages -------------------------------------------------------------------------------


def promote(
    ref: str,
    stage: str,
    reason: str = "",
    rebase: str | None = None,
    root: Path | None = None,
) -> StageChange:
    """Assign a stage; production passes the gate first (a failed gate writes no tag: the
    returned change has no tags and carries the report). `rebase` is a reason for accepting a
    hold-out set that changed since production was gated."""
    from weightline.ops.promote import promote as promote_version

    return promote_version(settings(root), ref, stage, reason, rebase)


def rollback(stage: str, reason: str = "", root: Path | None = None) -> StageChange:
    """Give the stage back to the version that held it before."""
    from weightline.ops.promote import rollback as rollback_stage

    return rollback_stage(settings(root), stage, reason)


def archive(ref: str, reason: str = "", root: Path | None = None) -> StageChange:
    """Move a version to `archived`, unassigning its other stages (never production)."""
    from weightline.ops.promote import archive as archive_version

    return archive_version(settings(root), ref, reason)


def promote_and_push(
    ref: str,
    stage: str,
    reason: str = "",
    rebase: str | None = None,
    git_remote: str | None = None,
    dvc_remote: str | None = None,
    root: Path | None = None,
) -> tuple[StageChange, Pushed]:
    """`promote` on top of the git remote's stage history, pushed at once with every unpushed
    tag; if another clone pushed a stage change first, ours is deleted and decided again (gated
    again), a few times, or a Conflict says so."""
    from weightline.ops.promote import promote as promote_version
    from weightline.ops.publish import change_and_push

    found = settings(root)
    return change_and_push(
        found, lambda: promote_version(found, ref, stage, reason, rebase), git_remote, dvc_remote
    )


def rollback_and_push(
    stage: str,
    reason: str = "",
    git_remote: str | None = None,
    dvc_remote: str | None = None,
    root: Path | None = None,
) -> tuple[StageChange, Pushed]:
    """`rollback` on top of the git remote's stage history, pushed at once (as promote_and_push)."""
    from weightline.ops.promote import rollback as rollback_stage
    from weightline.ops.publish import change_and_push

    found = settings(root)
    return change_and_push(
        found, lambda: rollback_stage(found, stage, reason), git_remote, dvc_remote
    )


def archive_and_push(
    ref: str,
    reason: str = "",
    git_remote: str | None = None,
    dvc_remote: str | None = None,
    root: Path | None = None,
) -> tuple[StageChange, Pushed]:
    """`archive` on top of the git remote's stage history, pushed at once (as promote_and_push)."""
    from weightline.ops.promote import archive as archive_version
    from weightline.ops.publish import change_and_push

    found = settings(root)
    return change_and_push(
        found, lambda: archive_version(found, ref, reason), git_remote, dvc_remote
    )


def stages(history: bool = False, root: Path | None = None) -> list[StageEvent]:
    """The assignments holding each stage now, or (`history`) every stage event in order."""
    from weightline.store.index import open_index

    with open_index(settings(root)) as index:
        past = index.history()
    if history:
        return past.events
    return sorted(past.held.values(), key=lambda event: event.stage)


def stage_history(root: Path | None = None) -> list[dict[str, Any]]:
    """Every stage event, oldest first, as rows: number, stage, action, assigned, version
    (vX.Y.Z), tag, at (ISO time), at_epoch, by, reason, from_version, gate (JSON text)."""
    from weightline.store.index import open_index

    with open_index(settings(root)) as index:
        return index.rows("SELECT * FROM stage_events ORDER BY number, tag")


def stage_holders(root: Path | None = None) -> dict[str, str]:
    """stage -> the version (`vX.Y.Z`) that holds it now; stages nobody holds are absent."""
    from weightline.store.index import open_index

    with open_index(settings(root)) as index:
        return dict(index.conn.execute("SELECT stage, version FROM stages ORDER BY stage"))


def gate(ref: str, rebase: str | None = None, root: Path | None = None) -> Report:
    """The production gate's report for a version (or `HEAD` before registration), writing
    nothing."""
    from weightline.ops.gate import Candidate, check
    from weightline.store import git
    from weightline.store.index import open_index

    found = settings(root)
    with open_index(found) as index:
        production = index.history().held.get("production")
        if ref == "HEAD":  # a pull request's commit, registered or not
            candidate = Candidate("HEAD", git.head(found.root), "HEAD")
        else:
            candidate = Candidate.of(index.resolve(ref))
    return check(found, candidate, production, rebase)


# ---- using a version ----------------------------------------------------------------------


def load_model(ref: str, root: Path | None = None) -> LoadedModel:
    """A version fetched (SHA-256-verified), loaded by the project's loader, guarded by its
    signature: what serving code calls."""
    from weightline.ops.loading import load_version

    return load_version(settings(root), ref)


def predict(ref: str, frame: pd.DataFrame, root: Path | None = None) -> Any:
    """Predictions of a version for rows that match its signature."""
    return load_model(ref, root).predict(frame)


def read_frame(path: Path) -> pd.DataFrame:
    """Rows from a .csv, .parquet or .json (records) file, or an error that says what to give."""
    from weightline.ops.loading import read_frame as read_rows

    return read_rows(path)


def write_output(path: Path, text: str, root: Path | None = None) -> Path:
    """Write a result file atomically, refusing places inside .git/ or .dvc/."""
    from weightline.store.files import output_file, write_atomic

    target = output_file(path, settings(root).root)
    write_atomic(target, text)
    return target


def drift(
    ref: str,
    frame: pd.DataFrame,
    threshold: float | None = None,
    alpha: float | None = None,
    root: Path | None = None,
) -> SampleDriftReport:
    """How far a sample of data moved from a version's training data, per feature: PSI for how
    far, a two-sample test (Holm-corrected at `alpha`) for whether it is more than chance."""
    from weightline.domain import drift as drift_rules
    from weightline.store.index import open_index

    with open_index(settings(root)) as index:
        tag = index.version_tag(ref)
        manifest = index.manifest(tag)
    report = drift_rules.sample_drift(
        manifest,
        frame,
        drift_rules.PSI_THRESHOLD if threshold is None else threshold,
        drift_rules.ALPHA if alpha is None else alpha,
    )
    report["version"] = tag
    return report


# ---- the registry as a database ------------------------------------------------------------


def query(spec: Query, root: Path | None = None) -> list[dict[str, Any]]:
    """Versions matching a query (metrics, config, data, author, time, stage), as rows."""
    from weightline.store import query as queries
    from weightline.store.index import open_index

    found = settings(root)
    with open_index(found) as index:
        return queries.run(index.conn, spec, found.key_metrics)


def sql(
    statement: str,
    root: Path | None = None,
    time_limit: float | None = None,
    row_limit: int | None = None,
    memory_limit: int | None = None,
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """One read-only SELECT over the registry's documented views: (column names, rows).

    It runs under limits (defaults: 5 s, 100,000 rows, 256 MiB of SQLite memory); a statement
    over any of them is refused.
    """
    from weightline.store import query
    from weightline.store.index import open_index, path_of

    found = settings(root)
    open_index(found).close()  # up to date first; then a separate read-only connection
    return query.run_sql(
        path_of(found),
        statement,
        time_limit=query.TIME_LIMIT if time_limit is None else time_limit,
        row_limit=query.ROW_LIMIT if row_limit is None else row_limit,
        memory_limit=query.MEMORY_LIMIT if memory_limit is None else memory_limit,
    )


def report(output: Path, sections: Sequence[str] = (), root: Path | None = None) -> Path:
    """One self-contained HTML page about the registry, written to `output`: versions, stage
    timeline, metric trends, the latest diff, and any extra HTML `sections` (escaped already),
    such as what servers answered with each version (`weightline report` adds it)."""
    from weightline.ops.report import render
    from weightline.store.files import output_file, write_atomic
    from weightline.store.index import open_index

    found = settings(root)
    target = output_file(output, found.root)
    with open_index(found) as index:
        page = render(index, found, sections=sections)
    write_atomic(target, page)
    return target


def reproduce(ref: str, root: Path | None = None) -> Result:
    """Retrain a version in a temporary worktree of its commit and compare with its manifest."""
    from weightline.ops.reproduce import reproduce as retrain
    from weightline.store.index import open_index

    found = settings(root)
    with open_index(found) as index:
        version = index.resolve(ref)
        manifest = index.manifest(version.name)
    return retrain(found, version.name, version.commit, manifest)


# ---- git hooks ----------------------------------------------------------------------------


def post_commit(root: Path | None = None) -> HookOutcome:
    """What the post-commit hook does: register on the release branch, else say what it would."""
    from weightline.ops.hooks import post_commit as after_commit

    return after_commit(settings(root))


def pre_push(
    lines: Iterable[str],
    remote: str | None = None,
    url: str | None = None,
    dvc_remote: str | None = None,
    root: Path | None = None,
) -> None:
    """What the pre-push hook does: refuse deleting or moving any tag of the artifact, pushing one
    weightline does not count, a version whose weights `dvc_remote` (default: DVC's default
    remote) lacks, or a stage event that would not come after the remote's."""
    from weightline.ops.hooks import pre_push as before_push

    before_push(settings(root), lines, remote, url, dvc_remote)


def install_server_hook(
    repository: Path, dvc_remote: str, options: Sequence[str] = (), force: bool = False
) -> Path:
    """Install the pre-receive hook that protects version and stage tags in a (bare) git
    repository; `dvc_remote` is the URL of the DVC remote whose weights a version needs."""
    from weightline.ops.server import install

    return install(repository, dvc_remote, list(options), force)
