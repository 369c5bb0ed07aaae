"""Bad input gets a named, clear error: thresholds, dates, limits, deep JSON, unbounded SQL;
and a killed index rebuild leaves nothing behind for good."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from weightline import api
from weightline.cli import main

from .microproject import Micro


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as done:  # argparse's usage errors
        code = int(done.code or 0)
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "internal error" not in err, (argv, err)
    return code, out, err


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "-0.5", "NaN"])
def test_drift_thresholds_must_be_finite(inside, released: Micro, capsys, value: str):
    inside(released)
    sample = released.path / "data/holdout/holdout.csv"
    code, _, err = run(capsys, "drift", "v1.0.0", "--data", str(sample), f"--threshold={value}")
    assert code == 2 and "--threshold" in err and "finite number" in err, err


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--since", "1000000000d"], "--since: '1000000000d' is out of range"),
        (["--until", "9999-12-31"], "--until: '9999-12-31' is out of range"),
        (["--since", "0001-01-01"], "--since: '0001-01-01' is out of range"),
        (["--since", "yesterday"], "--since: 'yesterday' is not a time"),
        (["--limit", "99999999999999999999"], "--limit: 99999999999999999999 is out of range"),
        (["--limit", "0"], "0 is out of range: from 1"),
    ],
)
def test_query_ranges_are_checked(inside, released: Micro, capsys, argv: list[str], said: str):
    inside(released)
    code, _, err = run(capsys, "query", *argv)
    assert code in (2, 4) and said in err, err


def test_query_limits_within_range_work(inside, released: Micro, capsys):
    inside(released)
    code, out, _ = run(capsys, "query", "--since", "1970-01-02", "--limit", "9223372036854775807")
    assert code == 0 and "v1.0.0" in out
    assert run(capsys, "query", "--until", "9999-12-30", "--json")[0] == 0


def test_deeply_nested_json_input_is_refused_by_name(inside, released: Micro, capsys, tmp_path):
    inside(released)
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    code, _, err = run(capsys, "predict", "v1.0.0", "--input", str(deep))
    assert code == 4 and "nested too deeply" in err, err
    code, _, err = run(capsys, "drift", "v1.0.0", "--data", str(deep))
    assert code == 4 and "nested too deeply" in err, err


UNBOUNDED = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "


def test_sql_runs_under_time_row_and_memory_limits(inside, released: Micro, capsys):
    inside(released)
    code, _, err = run(capsys, "sql", UNBOUNDED + "SELECT count(*) FROM c", "--timeout", "0.5")
    assert code == 4 and "ran longer than 0.5 s and was stopped" in err, err
    code, _, err = run(capsys, "sql", UNBOUNDED + "SELECT x FROM c", "--max-rows", "1000")
    assert code == 4 and "more than 1000 rows" in err, err
    code, _, err = run(
        capsys,
        "sql",
        UNBOUNDED + "SELECT max(x) FROM (SELECT DISTINCT x FROM c)",
        "--max-memory-mib",
        "8",
        "--timeout",
        "60",
    )
    assert code == 4 and "needed more than 8 MiB and was stopped" in err, err
    code, _, err = run(capsys, "sql", UNBOUNDED + "SELECT group_concat(hex(x)) FROM c",
                       "--max-memory-mib", "1", "--timeout", "2")  # fmt: skip
    assert code == 4 and ("longer than 1 MiB" in err or "was stopped" in err), err
    code, out, _ = run(capsys, "sql", UNBOUNDED + "SELECT x FROM c LIMIT 3", "--json")
    assert code == 0 and [row["x"] for row in json.loads(out)] == [1, 2, 3]
    code, _, err = run(capsys, "sql", "SELECT 1", "--timeout", "nan")
    assert code == 2 and "finite number" in err
    # the raw tables stay out of reach, through a WITH table too
    for statement in ("WITH t AS (SELECT * FROM tag) SELECT * FROM t",
                      "WITH versions AS (SELECT * FROM tag) SELECT * FROM versions"):  # fmt: skip
        code, _, err = run(capsys, "sql", statement)
        assert code == 4, err


def test_a_killed_rebuild_leaves_no_file_for_good(released: Micro):
    index = released.path / ".weightline" / "index.sqlite"
    api.versions(root=released.path)
    gone = subprocess.Popen(["true"])
    gone.wait()
    alive = subprocess.Popen(["sleep", "60"])
    try:
        dead = [
            index.with_name(f"index.sqlite.{gone.pid}.new{suffix}")
            for suffix in ("", "-journal", ".half")  # a rebuild, its journal, its second reader's
        ]
        live = index.with_name(f"index.sqlite.{alive.pid}.new")
        for leftover in [*dead, live]:
            leftover.write_bytes(b"half a rebuild")
        released.git("tag", "-a", "-m", "a note", "model#staging#1", "model@v1.0.0^{commit}")
        api.versions(root=released.path)  # the tags changed: the index is updated
        assert not any(path.exists() for path in dead)
        assert live.exists()  # a live rebuild's file is never touched
    finally:
        alive.kill()
        alive.wait()
    assert os.path.exists(index)
