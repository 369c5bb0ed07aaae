"""The registry as a database, on a baked project: the index, `query`, `sql` and `drift`.

Asked the seed's question: "all models trained by User X in the last month that achieved an
accuracy above 0.85", in one line, and everything around it.
"""

import csv
import io
import json
import os
import sqlite3
import time
from pathlib import Path

import pytest

from .project import EXIT, Project, weightline
from .registry_helpers import add_version, build_history, py, stage_tag, tag

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("registry")]
ALL = ["v2.0.0", "v1.3.0", "v1.2.0", "v1.1.0", "v1.0.0"]


@pytest.fixture(scope="session")
def history(trained_session: Project, tmp_path_factory) -> Project:
    """Session-scoped: xdist may run this module's tests apart, which would rebuild it."""
    return build_history(trained_session.copy(tmp_path_factory.mktemp("history") / "project"))


@pytest.fixture
def project(history: Project, tmp_path: Path) -> Project:
    """A copy to change freely."""
    return history.copy(tmp_path / "project")


def query(project: Project, *args: str) -> list[str]:
    """Versions `weightline query --json` returns, in its order."""
    return [
        row["version"] for row in json.loads(weightline(project, "query", *args, "--json").stdout)
    ]


def refused(project: Project, *args: str) -> str:
    """The command refuses (a documented code: not found, refused or bad input rows), clearly."""
    done = weightline(project, *args, check=False)
    assert done.returncode in (EXIT["NotFound"], EXIT["Refused"], EXIT["SignatureError"]), (
        done.returncode,
        done.stderr,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done.stderr


def test_the_seeds_question_in_one_line(history: Project):
    found = query(
        history, "--where", "metrics.accuracy > 0.85", "--author", "alice", "--since", "2024-01-01"
    )
    assert found == ["v2.0.0"]


def test_metric_filters_combine(history: Project):
    assert query(history) == ALL
    assert query(history, "--where", "metrics.accuracy > 0.85") == [
        "v2.0.0", "v1.3.0", "v1.1.0", "v1.0.0",
    ]  # fmt: skip
    both = ["v2.0.0", "v1.3.0"]
    assert (
        query(history, "--where", "metrics.accuracy > 0.85", "--where", "metrics.f1 < 0.915")
        == both
    )
    assert query(history, "--where", "metrics.accuracy > 0.85 and metrics.f1 < 0.915") == both
    assert query(history, "--where", "metrics.accuracy = 0.82") == ["v1.2.0"]
    two = ("--where", "metrics.accuracy != 0.82", "--where", "metrics.f1 <= 0.9")
    assert query(history, *two) == ["v2.0.0", "v1.3.0"]


def test_config_filters(history: Project):
    assert query(history, "--where", "config.model.C >= 1") == [
        "v2.0.0", "v1.3.0", "v1.1.0", "v1.0.0",
    ]  # fmt: skip
    assert query(history, "--where", "config.model.C > 1") == ["v1.3.0"]
    assert query(history, "--where", "config.model.C = 0.5") == ["v1.2.0"]
    assert query(history, "--where", "config.model.name = logreg") == ALL
    assert query(history, "--where", "config.model.name = 'logreg'") == ALL
    assert query(history, "--where", "config.model.class_weight = null") == ALL


def test_author_and_time_filters(history: Project):
    assert query(history, "--author", "alice") == ["v2.0.0", "v1.2.0"]
    assert query(history, "--author", "BOB@example.com") == ["v1.3.0"]
    assert query(history, "--since", "30d") == ["v1.1.0", "v1.0.0"]
    assert query(history, "--since", "12h", "--author", "alice") == []
    assert query(history, "--until", "2024-03-01") == ["v1.2.0"]  # the whole day is included
    assert query(history, "--since", "2024-03-10", "--until", "2024-03-31") == ["v1.3.0"]
    assert query(history, "--since", "2024-03-15T11:00:00+00:00", "--until", "2w") == [
        "v2.0.0", "v1.3.0",
    ]  # fmt: skip


def test_stage_and_data_filters(history: Project):
    # production went v1.1.0 -> v1.3.0, then v1.3.0 was unassigned: it falls back to v1.1.0.
    assert query(history, "--stage", "production") == ["v1.1.0"]
    assert query(history, "--stage", "staging") == ["v1.2.0"]
    assert query(history, "--stage", "archived") == []
    statement = "SELECT md5 FROM data WHERE version = 'v1.0.0' AND path = 'data/raw'"
    first = json.loads(weightline(history, "sql", "--json", statement).stdout)[0]["md5"]
    assert query(history, "--where", f"data.data/raw = {first}") == ["v1.0.0"]
    assert query(history, "--where", f"data.data/raw = {first[:8]}") == ["v1.0.0"]  # a prefix
    assert query(history, "--where", "data.data/raw = v1.0.0") == ["v1.0.0"]  # same data as
    assert query(history, "--where", "data.data/raw != v1.0.0") == ALL[:4]
    assert query(history, "--where", "data.data/holdout = v1.0.0") == ALL  # frozen hold-out


def test_sorting_limits_and_formats(history: Project):
    assert query(history, "--sort", "metrics.accuracy:asc", "--limit", "2") == ["v1.2.0", "v2.0.0"]
    top = query(history, "--sort", "metrics.accuracy", "--limit", "3")  # the trained two, then
    assert sorted(top[:2]) == ["v1.0.0", "v1.1.0"] and top[2] == "v1.3.0"
    assert query(history, "--sort", "created:asc", "--limit", "1") == ["v1.2.0"]
    assert query(history, "--sort", "config.model.C", "--limit", "1") == ["v1.3.0"]
    assert query(history, "--sort", "version:asc") == ALL[::-1]

    rows = json.loads(weightline(history, "query", "--stage", "production", "--json").stdout)
    assert rows[0]["stages"] == ["production"] and rows[0]["metrics"]["accuracy"] > 0.85
    assert rows[0]["tag"] == "model@v1.1.0" and len(rows[0]["commit"]) == 40

    out = weightline(history, "query", "--where", "config.model.C > 1", "--csv").stdout
    (row,) = list(csv.DictReader(io.StringIO(out)))
    assert row["version"] == "v1.3.0" and row["author"] == "Bob Chen"
    assert float(row["metrics.accuracy"]) == 0.91 and float(row["config.model.C"]) == 2.0

    table = weightline(history, "query", "--where", "metrics.accuracy < 0.85").stdout
    assert table.splitlines()[0].split()[:3] == ["VERSION", "CREATED", "AUTHOR"]
    assert "v1.2.0" in table and "Alice Martin" in table and "METRICS.ACCURACY" in table
    nothing = weightline(history, "query", "--where", "metrics.accuracy > 2").stdout
    assert "no version matches" in nothing


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--where", "accuracy > 0.85"], "unknown field 'accuracy': use metrics.<name>"),
        (["--where", "metrics.accuracy >> 0.85"], "is not `<field> <op> <value>`"),
        (["--where", "metrics.accuracy ~ 0.85"], "is not `<field> <op> <value>`"),
        (["--where", "metrics.acc > 0.85"], "no version has metrics.acc; known: accuracy, f1"),
        (["--where", "metrics.accuracy > high"], "metrics compare with a number"),
        (["--where", "config.model.name > logreg"], "text compares only with = or !="),
        (["--where", "data.data/raw > abc"], "data compares with = or !="),
        (["--where", "data.data/raw = nothex"], "neither an MD5"),
        (["--since", "yesterday"], "'yesterday' is not a time: use 30d"),
        (["--sort", "accuracy"], "sort by version, created, author, metrics.<name>"),
        (["--sort", "metrics.f1:up"], "the direction is :asc or :desc"),
    ],
)
def test_bad_filters_are_refused_naming_the_bad_part(history: Project, args, says):
    assert says in refused(history, "query", *args)


def test_out_of_range_arguments_are_usage_errors(history: Project):
    done = weightline(history, "query", "--limit", "0", check=False)
    assert done.returncode == 2 and "--limit: 0 is out of range" in done.stderr


def test_filter_values_never_reach_the_sql(history: Project):
    hostile = "config.model.name = x' OR 1=1 --"
    assert query(history, "--where", hostile) == []
    assert query(history, "--author", "%' OR '1'='1") == []
    assert query(history) == ALL  # and nothing was harmed


def test_sql_reads_the_documented_views(history: Project):
    def sql(statement: str) -> list[dict]:
        return json.loads(weightline(history, "sql", statement, "--json").stdout)

    versions = sql("SELECT version, author, bump, stages FROM versions ORDER BY ordinal")
    assert [v["version"] for v in versions] == ALL[::-1]
    assert versions[1]["stages"] == "production" and versions[2]["stages"] == "staging"
    assert versions[4]["bump"] == "major" and versions[2]["author"] == "Alice Martin"
    best = sql("SELECT version, value FROM metrics WHERE name = 'f1' ORDER BY value DESC LIMIT 3")
    assert sorted(b["version"] for b in best[:2]) == ["v1.0.0", "v1.1.0"]
    assert best[2] == {"version": "v1.3.0", "value": 0.9}
    params = sql("SELECT version, value, number FROM params WHERE key = 'model.C' ORDER BY version")
    assert [(p["version"], p["number"]) for p in params] == [
        ("v1.0.0", 1.0), ("v1.1.0", 1.0), ("v1.2.0", 0.5), ("v1.3.0", 2.0), ("v2.0.0", 1.0),
    ]  # fmt: skip
    events = sql(
        "SELECT number, stage, action, assigned, version, reason FROM stage_events ORDER BY number"
    )
    assert [(e["number"], e["stage"], e["assigned"], e["version"]) for e in events] == [
        (1, "staging", 1, "v1.2.0"), (2, "production", 1, "v1.1.0"),
        (3, "production", 1, "v1.3.0"), (4, "production", 0, "v1.3.0"),
    ]  # fmt: skip
    assert events[3]["reason"] == "accuracy dropped"
    assert sql("SELECT stage, version FROM stages ORDER BY stage") == [
        {"stage": "production", "version": "v1.1.0"},
        {"stage": "staging", "version": "v1.2.0"},
    ]
    data = sql("SELECT path, role, rows FROM data WHERE version = 'v1.1.0' ORDER BY path")
    assert ("data/holdout", "holdout") in [(d["path"], d["role"]) for d in data]
    numpy = sql(
        "SELECT version FROM versions WHERE json_extract(environment, '$.packages.numpy') = '9.9.9'"
    )
    assert numpy == [{"version": "v2.0.0"}]
    counted = sql(
        "WITH good AS (SELECT version FROM metrics WHERE name = 'accuracy' AND value > 0.85) "
        "SELECT count(*) AS n FROM good"
    )
    assert counted == [{"n": 4}]
    out = weightline(history, "sql", "SELECT version FROM versions ORDER BY ordinal", "--csv")
    assert out.stdout.split() == ["version", *ALL[::-1]]


@pytest.mark.parametrize(
    ("statement", "says"),
    [
        ("DELETE FROM versions", "runs one SELECT"),
        ("DROP VIEW versions", "runs one SELECT"),
        ("SELECT 1; DELETE FROM metric", "one statement"),
        ("SELECT * FROM tag", "only the views versions, metrics, params"),
        ("SELECT * FROM version", "only the views"),
        ("WITH x AS (SELECT 1) SELECT * FROM meta", "only the views"),
        ("SELECT * FROM pragma_table_info('version')", "SQL error"),
        ("SELECT * FROM nope", "no such table: nope"),
    ],
)
def test_sql_is_read_only_and_limited_to_views(history: Project, statement, says):
    assert says in refused(history, "sql", statement)


def test_sql_cannot_attach_or_write_even_from_a_select(project: Project):
    other = project.path / "other.sqlite"
    refused(project, "sql", f"SELECT * FROM versions WHERE 1 = (ATTACH '{other}' AS x)")
    assert not other.exists()
    index = project.path / ".weightline/index.sqlite"
    before = index.read_bytes()
    refused(project, "sql", "WITH d AS (DELETE FROM tag RETURNING 1) SELECT * FROM d")
    assert index.read_bytes() == before


def test_foreign_and_malformed_tags_are_skipped_with_one_warning_each(project: Project):
    art, first = project.artifact, project.git("rev-list", "--max-parents=0", "HEAD")
    v130 = project.git("rev-parse", f"{art}@v1.3.0^{{commit}}")
    tag(project, f"{art}@latest", "HEAD", "Registering artifact model version latest")
    project.git("tag", f"{art}@v9.0.0")  # lightweight
    tag(
        project, f"{art}@v1.3.1", v130, "Registering artifact model version v1.3.1"
    )  # 2nd on commit
    tag(project, f"{art}@v3.0.0", first, "Registering artifact model version v3.0.0")  # no manifest
    tag(project, f"{art}#production#9", first, "Assigning stage production ...")  # unversioned
    tag(project, f"{art}#production", "HEAD", "Assigning stage production ...")  # no number
    tag(project, f"{art}@v1.0.0!", "HEAD", "Deregistering ...")  # GTO's, never weightline's

    def other_artifact(m: dict) -> None:
        m["artifact"] = "other"

    add_version(project, "v4.0.0", other_artifact)  # a manifest of another artifact
    skipped = {
        f"{art}@latest": "not a version like v1.2.3",
        f"{art}@v9.0.0": "a lightweight tag",
        f"{art}@v1.3.1": f"already holds {art}@v1.3.0: one version per commit",
        f"{art}@v3.0.0": "has no models/manifest.json",
        f"{art}#production#9": f"no version of {art} at its commit",
        f"{art}#production": "not a stage tag",
        f"{art}@v1.0.0!": "deregistration tag",
        f"{art}@v4.0.0": "is for artifact 'other'",
    }
    done = weightline(project, "query", "--json")
    assert [row["version"] for row in json.loads(done.stdout)] == ALL
    warnings = [line for line in done.stderr.splitlines() if "skipping tag" in line]
    assert len(warnings) == len(skipped), done.stderr
    for name, reason in skipped.items():
        (line,) = [w for w in warnings if f"skipping tag {name}: " in w]
        assert reason in line, line
    again = weightline(project, "query", "--stage", "production", "--json")
    assert "skipping" not in again.stderr  # one warning each, not one per command
    assert [r["version"] for r in json.loads(again.stdout)] == ["v1.1.0"]
    listed = json.loads(weightline(project, "sql", "SELECT tag FROM skipped", "--json").stdout)
    assert {r["tag"] for r in listed} == set(skipped)


UPDATE = """
import json, sys
from weightline import settings
from weightline.store.index import update
conn, done = update(settings.load())
print(json.dumps({"read": done.read, "removed": done.removed, "rebuilt": done.rebuilt,
                  "listed": done.listed}))
"""


def settle_refs(project: Project) -> None:
    """Date git's ref storage an hour back, so the index may trust its stat() fingerprint."""
    old = time.time() - 3600
    git_dir = project.path / ".git"
    for path in [git_dir / "packed-refs", *(p for p in (git_dir / "refs/tags").rglob("*"))]:
        if path.exists():
            os.utime(path, (old, old))
    os.utime(git_dir / "refs/tags", (old, old))


def test_index_updates_by_tag_object_and_rebuilds_when_lost(project: Project):
    art = project.artifact
    first = py(project, UPDATE)
    total = len(project.git("tag", "--list", f"{art}@*", f"{art}#*").split())
    assert first["rebuilt"] or first["read"] == []  # the copy may bring its index along
    settle_refs(project)
    nothing = {"read": [], "removed": [], "rebuilt": False, "listed": True}
    assert py(project, UPDATE) == nothing
    assert py(project, UPDATE) == {**nothing, "listed": False}  # a stat() said all is as it was

    # One more version: only its tag (and its manifest) is read.
    add_version(project, "v2.1.0", lambda m: m["metrics"].update(accuracy=0.99))
    assert py(project, UPDATE) == {**nothing, "read": [f"{art}@v2.1.0"]}
    assert query(project, "--limit", "1") == ["v2.1.0"]
    settle_refs(project)
    stage_tag(project, "production", 5, "v2.1.0")
    assert py(project, UPDATE)["read"] == [f"{art}#production#5"]
    assert query(project, "--stage", "production") == ["v2.1.0"]

    # A tag moved (deleted and re-created on another commit) or deleted.
    settle_refs(project)
    project.git("tag", "-d", f"{art}#production#5")
    assert py(project, UPDATE) == {**nothing, "removed": [f"{art}#production#5"]}
    assert query(project, "--stage", "production") == ["v1.1.0"]
    project.run("git", "pack-refs", "--all")
    assert py(project, UPDATE)["read"] == []  # same tags, only stored differently

    # The index is a cache: deleted, damaged or from an older schema, it is rebuilt.
    index = project.path / ".weightline/index.sqlite"
    index.unlink()
    rebuilt = py(project, UPDATE)
    assert rebuilt["rebuilt"] and len(rebuilt["read"]) == total + 1
    assert query(project, "--limit", "1") == ["v2.1.0"]
    index.write_bytes(b"this is not a database" * 100)
    assert py(project, UPDATE)["rebuilt"]
    conn = sqlite3.connect(index)
    conn.execute("UPDATE meta SET value = '0' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    assert py(project, UPDATE)["rebuilt"]
    assert query(project) == ["v2.1.0", *ALL]


HOLDERS = """
import json
from weightline import settings
from weightline.store.index import open_index
from weightline.domain.stages import holders
index = open_index(settings.load())
print(json.dumps({
    "ours": index.stage_holders(),
    "events": {stage: e.version.name for stage, e in holders(index.stage_events()).items()},
    "versions": [(v.name, v.commit) for v in index.versions()],
    "resolved": [index.resolve(ref).name for ref in ("v1.2.0", "model@v1.3.0", "production")],
}))
"""


def gto_holder(project: Project, stage: str) -> str:
    found = json.loads(project.run("gto", "show", f"model#{stage}", "--json").stdout)
    return f"model@{found[0]['version']}"


def test_index_answers_like_the_tags_themselves(history: Project):
    """What ls, show and stages get from the index equals what git and GTO read from the tags."""
    found = py(history, HOLDERS)
    held = {"production": "model@v1.1.0", "staging": "model@v1.2.0"}
    gto = {stage: gto_holder(history, stage) for stage in held}
    assert found["ours"] == found["events"] == gto == held
    listed = history.git(
        "for-each-ref", "--format=%(refname:strip=2) %(*objectname)", "refs/tags/model@v*"
    ).splitlines()
    assert sorted(tuple(line.split()) for line in listed) == sorted(map(tuple, found["versions"]))
    assert found["resolved"] == ["model@v1.2.0", "model@v1.3.0", "model@v1.1.0"]


DIFF_DRIFT = """
import json
from weightline import settings
from weightline.domain.drift import drift_lines, training_drift
from weightline.store.index import open_index
index = open_index(settings.load())
result = {}
for old, new in (("v1.1.0", "v1.2.0"), ("v1.3.0", "v2.0.0"), ("v1.0.0", "v1.1.0")):
    report = training_drift(index.manifest(old), index.manifest(new))
    result[new] = {**report, "text": drift_lines(report)}
print(json.dumps(result))
"""


def test_diff_drift_between_versions(history: Project):
    found = py(history, DIFF_DRIFT)
    shifted = found["v1.2.0"]
    assert shifted["moved"] == ["mean_radius"]
    radius = shifted["features"][0]
    assert radius["feature"] == "mean_radius" and radius["psi"] > 0.2 and radius["mean_shift"] > 1
    assert any("MOVED mean_radius: PSI" in line for line in shifted["text"])
    assert not shifted["balance"]["moved"] and shifted["environment"] == []

    balanced = found["v2.0.0"]
    assert balanced["moved"] == [] and balanced["balance"]["moved"]
    assert {"name": "numpy", "old": balanced["environment"][0]["old"], "new": "9.9.9"} in balanced[
        "environment"
    ]
    assert any(line.startswith("class balance MOVED") for line in balanced["text"])

    # Forty rows fewer of the same data: the distribution barely moves.
    fewer = found["v1.1.0"]
    assert fewer["rows"]["new"] < fewer["rows"]["old"] and fewer["moved"] == []
    assert max(r["psi"] for r in fewer["features"]) < 0.1


def test_drift_of_a_production_sample(history: Project, tmp_path: Path):
    import pandas as pd

    raw = pd.read_csv(history.path / "data/raw/breast_cancer.csv")
    same = tmp_path / "same.csv"
    raw.to_csv(same, index=False)
    out = weightline(history, "drift", "v1.1.0", "--data", str(same)).stdout
    assert "0 of 30 features moved" in out and "nothing moved" in out
    assert "not model inputs, ignored: target" in out

    moved = tmp_path / "moved.csv"
    raw.assign(mean_radius=raw["mean_radius"] * 1.5, worst_area=raw["worst_area"] + 500).to_csv(
        moved, index=False
    )
    report = json.loads(
        weightline(history, "drift", "production", "--data", str(moved), "--json").stdout
    )
    assert report["version"] == "model@v1.1.0"
    assert sorted(report["moved"]) == ["mean_radius", "worst_area"]
    assert report["features"][0]["psi"] > 0.2
    text = weightline(history, "drift", "v1.1.0", "--data", str(moved)).stdout
    assert "2 of 30 features moved" in text and "MOVED mean_radius" in text
    checked = refused(history, "drift", "v1.1.0", "--data", str(moved), "--check")
    assert "2 feature(s) moved significantly (PSI > 0.2" in checked and "mean_radius" in checked
    loose = weightline(history, "drift", "v1.1.0", "--data", str(moved), "--threshold", "50")
    assert "0 of 30 features moved" in loose.stdout


def test_drift_refuses_unusable_samples(history: Project, tmp_path: Path):
    import pandas as pd

    raw = pd.read_csv(history.path / "data/raw/breast_cancer.csv")
    lacking = tmp_path / "lacking.csv"
    raw.drop(columns=["mean_texture", "worst_area"]).to_csv(lacking, index=False)
    says = refused(history, "drift", "v1.0.0", "--data", str(lacking))
    assert "lacks 2 of the model's input column(s): mean_texture, worst_area" in says
    texty = tmp_path / "texty.csv"
    raw.astype({"mean_radius": "object"}).assign(mean_radius=["big"] * len(raw)).to_csv(
        texty, index=False
    )
    assert "column 'mean_radius' of the sample has" in refused(
        history, "drift", "v1.0.0", "--data", str(texty)
    )
    assert "does not exist" in refused(history, "drift", "v1.0.0", "--data", "nope.csv")
    assert "is not a file" in refused(history, "drift", "v1.0.0", "--data", str(tmp_path))
    header_only = tmp_path / "header_only.csv"
    raw.head(0).to_csv(header_only, index=False)
    assert "has no rows" in refused(history, "drift", "v1.0.0", "--data", str(header_only))
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\x00\xff\xfe\n" * 100)
    refused(history, "drift", "v1.0.0", "--data", str(binary))  # whichever way, said clearly
    assert "'latest' is never a target" in refused(
        history, "drift", "latest", "--data", str(lacking)
    )
