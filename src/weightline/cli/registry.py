"""Subcommands that treat the registry as a database: query, sql, drift, report, reproduce.

Each reads the SQLite index (brought up to date from git tags first); none writes to git.
`weightline.api` is imported by each command but `query`, which reads the index itself: importing
the API module (its TypedDicts) cost a warm `weightline query` at 10,000 versions about 1.5 ms of
its 50 (benchmarks/registry_scale.py, where the target is 3x a bare `git for-each-ref`).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path

from weightline.cli.main import (
    Adder,
    RawDescriptionHelpFormatter,
    formats,
    json_flag,
    output_format,
)
from weightline.cli.output import emit, print_json
from weightline.errors import Refused

FIELD_HELP = "metrics.<name>, config.<dotted.key> or data.<path>"
VIEW_HELP = """\
views (one row per ...):
  versions(version, tag, ordinal, major, minor, patch, prerelease, commit_id, created,
           created_epoch, author, email, bump, reason, weights_sha256, weights_md5, weights_size,
           trained_by, trained_email, host, started, ended, duration_s, python, platform,
           environment, training_rows, stages)        ... registered version
  metrics(version, name, value)                      ... numeric metric of a version
  params(version, key, value, number)                ... resolved config value (dotted key)
  data(version, path, role, md5, size, nfiles, rows) ... data input or the hold-out set
  stage_events(number, stage, action, assigned, version, tag, at, at_epoch, by, reason,
               from_version, gate)                   ... stage assignment or unassignment
  stages(stage, version, number, since)              ... stage held now
  skipped(tag, reason)                               ... tag left out, and why
`ordinal` orders versions as SemVer does; `environment` and `gate` are JSON (json_extract)."""


def cmd_query(args: argparse.Namespace) -> None:
    import time

    from weightline.settings import load
    from weightline.store import query as q
    from weightline.store.index import open_index

    now = time.time()
    sort, descending = q.parse_sort(args.sort)
    spec = q.Query(
        conditions=tuple(c for text in args.where for c in q.parse_where(text)),
        author=args.author,
        since=flagged("--since", lambda: q.parse_time(args.since, now)) if args.since else None,
        until=(
            flagged("--until", lambda: q.parse_time(args.until, now, end=True))
            if args.until
            else None
        ),
        stage=args.stage,
        sort=sort,
        descending=descending,
        limit=args.limit,
    )
    settings = load()
    with open_index(settings) as index:  # what api.query does, without importing weightline.api
        rows = q.run(index.conn, spec, settings.key_metrics)
    fmt = output_format(args)
    if fmt == "json":
        emit(rows, [], fmt, "")
        return
    columns = q.columns(spec, rows, settings.key_metrics)
    emit([q.flat(r, short=fmt == "table") for r in rows], columns, fmt, "no version matches")


def flagged(flag: str, parse: Callable[[], float]) -> float:
    """A value parsed by the library, whose refusal is told with the flag it came from."""
    try:
        return parse()
    except Refused as error:
        raise Refused(f"{flag}: {error}") from None


def bounded_int(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: an integer from `low` to `high`, or a usage error that says so."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text} is out of range: from {low} to {high}")
        return value

    return parse


def finite_float(low: float, high: float = math.inf) -> Callable[[str], float]:
    """An argparse type: a finite number from `low` (to `high`); nan and inf are refused."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(value) or not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"{text} is not a finite number from {low:g}"
                + (f" to {high:g}" if math.isfinite(high) else " up")
            )
        return value

    return parse


def cmd_sql(args: argparse.Namespace) -> None:
    from weightline import api

    names, rows = api.sql(
        args.statement,
        time_limit=args.timeout,
        row_limit=args.max_rows,
        memory_limit=args.max_memory_mib * 2**20,
    )
    emit([dict(zip(names, r, strict=True)) for r in rows], names, output_format(args), "(no rows)")


def cmd_drift(args: argparse.Namespace) -> None:
    from weightline import api
    from weightline.domain import drift

    report = api.drift(args.ref, api.read_frame(Path(args.data)), args.threshold)
    if args.json:
        print_json({"data": args.data, **report})
    else:
        print(f"{args.data} against the training data of {report['version']}")
        print("\n".join(drift.sample_lines(report)))
    if args.check and report["moved"]:
        raise Refused(
            f"{len(report['moved'])} feature(s) moved significantly (PSI > "
            f"{report['threshold']:g}, p < {report.get('alpha', 0.05):g}): "
            f"{', '.join(report['moved'])}"
        )


def cmd_report(args: argparse.Namespace) -> None:
    from weightline import api
    from weightline.serve.timeline import html_section  # what servers answered, per version

    written = api.report(Path(args.output), sections=[html_section()])
    size = written.stat().st_size // 1024
    if args.json:
        print_json({"path": str(written), "kib": size})
    else:
        print(f"wrote {written} ({size} KiB): open it in a browser, no server needed")


def cmd_reproduce(args: argparse.Namespace) -> None:
    from weightline import api

    result = api.reproduce(args.ref)
    if args.json:
        print_json(result.to_dict())
    else:
        print("\n".join(result.lines()))
    if result.verdict == "differs" and args.check:
        raise Refused(f"{result.version} did not reproduce: see the differences above")


def add_commands(add: Adder) -> None:
    """Register this module's subcommands through cli.build_parser's `add(name, func, help)`."""
    query = add("query", cmd_query, "find versions: metrics, config, data, author, time, stage")
    query.formatter_class = RawDescriptionHelpFormatter
    query.epilog = (
        'example: weightline query --where "metrics.accuracy > 0.85" --author alice --since 30d\n'
        f"--where fields: {FIELD_HELP}; operators = != < <= > >=; "
        "several --where (or `and`) must all hold.\n"
        "data.<path> = <md5 or its first 6+ digits> | <version> (the same data as that version)"
    )
    query.add_argument(
        "--where", action="append", default=[], metavar="EXPR", help="e.g. 'config.model.C >= 1'"
    )
    query.add_argument("--author", help="tagger or trainer name/email contains this")
    query.add_argument("--since", help="registered since: 30d, 12h, 2w, 90m or a date")
    query.add_argument("--until", help="registered before: a date (inclusive) or 30d etc.")
    query.add_argument("--stage", help="holds this stage now (e.g. production)")
    query.add_argument(
        "--sort",
        default="version",
        help="version (default), created, author, metrics.<name> or config.<key>; "
        "descending unless :asc is added",
    )
    query.add_argument("--limit", type=bounded_int(1, 2**63 - 1), help="at most this many rows")
    formats(query)

    sql = add("sql", cmd_sql, "run one read-only SELECT over the registry's views")
    sql.formatter_class = RawDescriptionHelpFormatter
    sql.epilog = (
        VIEW_HELP
        + "\nexample: weightline sql \"SELECT version, value FROM metrics WHERE name = 'f1' "
        'ORDER BY value DESC LIMIT 5"'
    )
    sql.add_argument("statement", help="one SELECT or WITH statement")
    sql.add_argument(
        "--timeout",
        type=finite_float(0.001, 3600),
        default=5.0,
        metavar="SECONDS",
        help="stop the statement after this long (default 5)",
    )
    sql.add_argument(
        "--max-rows",
        type=bounded_int(1, 10**9),
        default=100_000,
        help="refuse an answer longer than this (default 100000; add LIMIT to cut it)",
    )
    sql.add_argument(
        "--max-memory-mib",
        type=bounded_int(1, 1 << 20),
        default=256,
        metavar="MIB",
        help="memory SQLite may use for the statement (default 256)",
    )
    formats(sql)

    drift = add("drift", cmd_drift, "compare a data sample with a version's training data")
    drift.add_argument("ref", help="vX.Y.Z, <artifact>@vX.Y.Z or a stage (production)")
    drift.add_argument(
        "--data",
        required=True,
        help="rows with the model's input columns: .csv, .parquet or .json (records)",
    )
    drift.add_argument(
        "--threshold",
        type=finite_float(0.0),
        default=0.2,
        help="PSI above which a feature moved (a finite number, 0 or more)",
    )
    drift.add_argument("--check", action="store_true", help="exit 1 if any feature moved")
    json_flag(drift)

    report = add("report", cmd_report, "write one self-contained HTML page about the registry")
    report.add_argument("-o", "--output", default="registry.html")
    json_flag(report)

    reproduce = add(
        "reproduce", cmd_reproduce, "retrain a version in a temporary worktree and compare"
    )
    reproduce.add_argument("ref", help="vX.Y.Z, <artifact>@vX.Y.Z or a stage")
    reproduce.add_argument("--check", action="store_true", help="exit 1 unless it reproduces")
    json_flag(reproduce)
