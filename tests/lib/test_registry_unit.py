"""weightline's registry pieces that need no git: query parsing, PSI, verdicts, the SQL guard."""

import sqlite3
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from weightline.domain import drift, summary
from weightline.errors import WeightlineError
from weightline.ops.reproduce import metric_rows, verdict
from weightline.store.gitrefs import parse_tag_object
from weightline.store.index import SCHEMA, hold
from weightline.store.query import (
    Query,
    compile_query,
    parse_sort,
    parse_time,
    parse_where,
    split_and,
)


def test_where_clauses_parse_into_conditions():
    first, second = parse_where("metrics.accuracy > 0.85 and config.model.name = 'log and reg'")
    assert (first.source, first.key, first.op, first.value) == ("metrics", "accuracy", ">", 0.85)
    assert (second.source, second.key, second.value) == ("config", "model.name", "log and reg")
    (data,) = parse_where("data.data/raw == 5ae6ca1f")
    assert (data.source, data.key, data.op, data.value) == ("data", "data/raw", "=", "5ae6ca1f")
    assert split_and("a > 1 AND b < 2") == ["a > 1", "b < 2"]
    assert split_and("brand = 'sand and sea'") == ["brand = 'sand and sea'"]


@pytest.mark.parametrize(
    "text",
    ["accuracy > 1", "metrics.accuracy", "metrics.accuracy => 1", "metrics. > 1", "x.y = 1"],
)
def test_malformed_where_clauses_are_refused(text):
    with pytest.raises(WeightlineError, match="condition"):
        parse_where(text)


def test_values_are_bound_never_pasted():
    hostile = "x'; DROP TABLE version; --"
    sort, descending = parse_sort("metrics.f1:asc")
    conditions = tuple(parse_where(f"config.model.name = {hostile}"))
    spec = Query(conditions, author=hostile, sort=sort, descending=descending)
    sql, params = compile_query(spec)
    assert "DROP" not in sql and hostile in params and "f1" in params
    assert sql.count("?") == len(params)


def test_times_relative_and_absolute():
    now = datetime(2024, 3, 31, 12, 0, tzinfo=UTC).timestamp()
    assert parse_time("30d", now) == datetime(2024, 3, 1, 12, 0, tzinfo=UTC).timestamp()
    assert parse_time("12h", now) == datetime(2024, 3, 31, 0, 0, tzinfo=UTC).timestamp()
    assert parse_time("2w", now) == datetime(2024, 3, 17, 12, 0, tzinfo=UTC).timestamp()
    day = datetime(2024, 3, 1).astimezone()
    assert parse_time("2024-03-01", now) == day.timestamp()
    assert parse_time("2024-03-01", now, end=True) - day.timestamp() == 86400
    with pytest.raises(WeightlineError, match="is not a time"):
        parse_time("last week", now)


def test_stage_holders_fall_back_after_an_unassignment():
    events = [
        (1, "t1", "production", True, "v1"),
        (2, "t2", "production", True, "v2"),
        (3, "t3", "staging", True, "v3"),
        (4, "t4", "production", False, "v2"),
    ]
    assert hold(events) == {"production": ("v1", "t1"), "staging": ("v3", "t3")}
    assert hold([*events, (5, "t5", "production", False, "v1")]) == {"staging": ("v3", "t3")}


def test_tag_objects_are_read_like_git_shows_them():
    raw = (
        b"object 0123\ntype commit\ntag model@v1.0.0\ntagger A B <a@b.c> 1709294400 +0100\n\n"
        b"Registering artifact model version v1.0.0\n\n{}\n"
    )
    fields = parse_tag_object(raw)
    assert fields["created"] == "2024-03-01T13:00:00+01:00" and fields["author"] == "A B"
    assert fields["message"] == "Registering artifact model version v1.0.0\n\n{}"


def test_schema_creates_every_documented_view():
    conn = sqlite3.connect(":memory:")
    conn.executescript(SCHEMA)
    views = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type='view'")}
    assert views == {"versions", "metrics", "params", "data", "stage_events", "stages", "skipped"}


@pytest.fixture
def training() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"x": rng.normal(0, 1, 4000), "y": rng.exponential(2, 4000)})


def test_psi_from_summaries_is_small_for_the_same_data_and_large_for_a_shift(training):
    rng = np.random.default_rng(1)
    again = pd.DataFrame({"x": rng.normal(0, 1, 4000), "y": rng.exponential(2, 4000)})
    moved = pd.DataFrame({"x": rng.normal(1, 1, 4000), "y": rng.exponential(2, 4000)})
    base = summary.describe(training)
    quiet = drift.compare_summaries(base, summary.describe(again))
    assert quiet["moved"] == [] and max(r["psi"] for r in quiet["features"]) < 0.05
    shifted = drift.compare_summaries(base, summary.describe(moved))
    assert shifted["moved"] == ["x"]
    x = shifted["features"][0]
    assert x["psi"] > 0.5 and x["mean_shift"] == pytest.approx(1.0, abs=0.1)


def test_sample_drift_counts_the_sample_and_names_missing_columns(training):
    manifest = {"training_data": summary.describe(training)}
    report = drift.sample_drift(manifest, training.assign(y=training["y"] * 3, extra=1))
    assert report["moved"] == ["y"] and report["ignored_columns"] == ["extra"]
    with pytest.raises(WeightlineError, match="lacks 1 of the model's input column"):
        drift.sample_drift(manifest, training.drop(columns=["x"]))


def test_the_cdf_of_a_summary_handles_ties_and_the_tails():
    feature = {"min": 0.0, "max": 10.0, "quantiles": {"0.5": 0.0, "0.9": 5.0}}
    points = drift.cdf_points(feature)
    assert drift.cdf(points, -1) == 0.0 and drift.cdf(points, 10) == 1.0
    assert drift.cdf(points, 0.0) == 0.5  # half the mass sits at 0
    assert drift.cdf(points, 2.5) == pytest.approx(0.7)
    assert sum(drift.masses(points, drift.edges(feature))) == pytest.approx(1.0)


def test_reproduction_verdicts():
    same = metric_rows({"accuracy": 0.9}, {"accuracy": 0.9})
    assert verdict(True, same) == "bit-exact"
    assert verdict(False, same) == "same metrics, different bytes"
    other = metric_rows({"accuracy": 0.9}, {"accuracy": 0.8})
    assert verdict(False, other) == "differs" and other[0]["delta"] == pytest.approx(-0.1)
