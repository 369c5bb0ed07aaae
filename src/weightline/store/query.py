"""Questions to the registry: `weightline query` filters and `weightline sql`, over the index.

    weightline query --where "metrics.accuracy > 0.85" --author alice --since 30d

Filters compile to parameterized SQL: a user's text only ever becomes a bound value, and field
names and operators are taken from fixed lists, so nothing typed can change the statement.
`weightline sql` runs one read-only SELECT over the documented views, on a read-only connection.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from pathlib import Path

from weightline.errors import Refused
from weightline.store.index import VIEWS

# `typing` for the type checker only: the query path does not import it (see settings.py).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

OPERATORS = {"=": "=", "==": "=", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
SOURCES = ("metrics", "config", "data")
# Patterns as text: re compiles (and caches) them when first used, not on every start.
_CONDITION = r"^(?P<field>[^<>=!]+?)\s*(?P<op><=|>=|!=|==|=|<|>)\s*(?P<value>.*?)$"
_RELATIVE = r"^(?P<n>\d+)\s*(?P<unit>[mhdw])$"
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_HEX = r"^[0-9a-f]{6,32}(\.dir)?$"
FIELD_HELP = "metrics.<name>, config.<dotted.key> or data.<path>"  # also in cli_registry


class Condition:
    """One `--where` comparison, parsed."""

    __slots__ = ("key", "op", "source", "text", "value")

    def __init__(self, source: str, key: str, op: str, value: str | float, text: str) -> None:
        self.source = source  # metrics, config or data
        self.key = key
        self.op = op  # an SQL operator from OPERATORS
        self.value = value
        self.text = text  # as the user wrote it, for messages


def split_and(text: str) -> list[str]:
    """Split on the word `and` outside quotes: "a > 1 and b < 2" -> ["a > 1", "b < 2"]."""
    parts, current, quote = [], [], ""
    tokens = re.split(r"(\s+and\s+|['\"])", text, flags=re.IGNORECASE)
    for token in tokens:
        if token in ("'", '"'):
            quote = "" if quote == token else (quote or token)
            current.append(token)
        elif not quote and token.strip().lower() == "and" and token != token.strip():
            parts.append("".join(current))
            current = []
        else:
            current.append(token)
    parts.append("".join(current))
    return [part.strip() for part in parts]


def parse_value(raw: str) -> str | float:
    """A quoted value is text; otherwise a number if it reads as one, else text."""
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"":
        return raw[1:-1]
    try:
        return float(raw)
    except ValueError:
        return raw


def parse_where(text: str) -> list[Condition]:
    """`metrics.accuracy > 0.85 and config.model.C >= 1` -> conditions, or a clear refusal."""
    conditions = []
    for part in split_and(text):
        match = re.match(_CONDITION, part)
        if not match or not match["value"] or match["value"][0] in "<>=!":
            raise Refused(
                f"condition {part!r} is not `<field> <op> <value>`: e.g. "
                f'"metrics.accuracy > 0.85", with a field {FIELD_HELP} and an operator '
                f"{' '.join(o for o in OPERATORS if o != '==')}"
            )
        name = match["field"].strip()
        source, dot, key = name.partition(".")
        if source not in SOURCES or not dot or not key:
            raise Refused(f"condition {part!r}: unknown field {name!r}: use {FIELD_HELP}")
        op, value = OPERATORS[match["op"]], parse_value(match["value"])
        if source == "data":
            if op not in ("=", "!="):
                raise Refused(
                    f"condition {part!r}: data compares with = or != against an MD5 (as in "
                    "dvc.lock) or a version (same data as that version)"
                )
            value = match["value"].strip("'\"")
        elif source == "metrics" and not isinstance(value, float):
            raise Refused(f"condition {part!r}: metrics compare with a number")
        elif isinstance(value, str) and op not in ("=", "!="):
            raise Refused(
                f"condition {part!r}: {value!r} is not a number; text compares only with = or !="
            )
        conditions.append(Condition(source, key, op, value, part))
    return conditions


def parse_time(text: str, now: float, end: bool = False) -> float:
    """`30d`, `12h`, `2w`, `90m` before `now`, or a date / ISO time, as a Unix time.

    A bare date given as an end (`--until 2024-03-01`) includes that whole day.
    """
    from datetime import datetime, timedelta

    value = text.strip()
    out_of_range = Refused(
        f"{text!r} is out of range: give a time from {EARLIEST} to {LATEST} (UTC); "
        "to include every version, leave the bound out"
    )
    relative = re.match(_RELATIVE, value)
    if relative:
        try:
            delta = timedelta(**{_UNITS[relative["unit"]]: int(relative["n"])})
        except OverflowError:
            raise out_of_range from None
        found = now - delta.total_seconds()
    else:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise Refused(
                f"{text!r} is not a time: use 30d, 12h, 2w, 90m (ago), a date like 2024-03-01 "
                "or an ISO time like 2024-03-01T12:00"
            ) from None
        try:
            if moment.tzinfo is None:
                moment = moment.astimezone()  # the user's local time, as git shows dates
            if end and len(value) == 10:
                moment += timedelta(days=1)
            found = moment.timestamp()
        except (OverflowError, ValueError, OSError):  # year 1 or 9999 in some time zone
            raise out_of_range from None
    earliest, latest = _time_bounds()
    if not earliest <= found <= latest:
        raise out_of_range
    return found


EARLIEST, LATEST = "1970-01-01", "9999-12-30"
MAX_LIMIT = 2**63 - 1  # SQLite's largest integer


def _time_bounds() -> tuple[float, float]:
    from datetime import UTC, datetime

    return (  # the latest end is the end of LATEST's day (`--until 9999-12-30` includes it)
        datetime.fromisoformat(EARLIEST).replace(tzinfo=UTC).timestamp(),
        datetime.fromisoformat(LATEST).replace(tzinfo=UTC).timestamp() + 2 * 86_400,
    )


class Query:
    """Everything `weightline query` was asked (plain class: see index.py on import cost)."""

    __slots__ = ("author", "conditions", "descending", "limit", "since", "sort", "stage", "until")

    def __init__(
        self,
        conditions: tuple[Condition, ...] = (),
        author: str | None = None,
        since: float | None = None,
        until: float | None = None,
        stage: str | None = None,
        sort: str = "version",
        descending: bool = True,
        limit: int | None = None,
    ) -> None:
        self.conditions, self.author, self.stage, self.limit = conditions, author, stage, limit
        self.since, self.until = since, until  # Unix times
        self.sort, self.descending = sort, descending


def parse_sort(text: str) -> tuple[str, bool]:
    """`metrics.f1`, `created:asc`, `config.model.C:desc` -> (key, descending)."""
    key, _, direction = text.partition(":")
    if direction not in ("", "asc", "desc"):
        raise Refused(f"sort key {text!r}: the direction is :asc or :desc")
    source = key.partition(".")[0]
    if key not in ("version", "created", "author") and (
        source not in ("metrics", "config") or "." not in key
    ):
        raise Refused(
            f"sort key {text!r}: sort by version, created, author, metrics.<name> or "
            "config.<dotted.key> (add :asc for ascending)"
        )
    return key, direction != "asc"


def check_fields(conn: sqlite3.Connection, query: Query) -> None:
    """A field no version has is a typo, not an empty answer: say which names exist."""
    tables = {
        "metrics": ("metric_value", "name"),
        "config": ("param_value", "key"),
        "data": ("data_item", "path"),
    }
    fields = [(c.source, c.key, f"condition {c.text!r}") for c in query.conditions]
    source = query.sort.partition(".")[0]
    if source in ("metrics", "config"):
        fields.append((source, query.sort.partition(".")[2], f"sort key {query.sort!r}"))
    if fields and not conn.execute("SELECT 1 FROM version LIMIT 1").fetchone():
        return  # no versions yet: an empty answer says it all
    for source, key, where in fields:
        table, column = tables[source]
        if conn.execute(f"SELECT 1 FROM {table} WHERE {column} = ? LIMIT 1", (key,)).fetchone():
            continue
        known = [k for (k,) in conn.execute(f"SELECT DISTINCT {column} FROM {table}")]
        shown = ", ".join(sorted(known)[:30]) + (" ..." if len(known) > 30 else "")
        raise Refused(f"{where}: no version has {source}.{key}; known: {shown}")


def condition_sql(condition: Condition) -> tuple[str, list[Any]]:
    op, value = condition.op, condition.value
    if condition.source == "metrics":
        return (
            f"EXISTS (SELECT 1 FROM metric_value m WHERE m.version_id = v.id AND m.name = ? "
            f"AND m.value {op} ?)",
            [condition.key, value],
        )
    if condition.source == "config":
        column = "number" if isinstance(value, float) else "value"
        return (
            f"EXISTS (SELECT 1 FROM param_value p WHERE p.version_id = v.id AND p.key = ? "
            f"AND p.{column} {op} ?)",
            [condition.key, value],
        )
    from weightline.domain.semver import is_version

    if is_version(str(value).rpartition("@")[2]):  # the same data as that version
        version = str(value).rpartition("@")[2]
        return (
            f"v.id IN (SELECT d.version_id FROM data_item d WHERE d.path = ? AND d.md5 {op} "
            "(SELECT d2.md5 FROM data_item d2 JOIN version w ON w.id = d2.version_id "
            "WHERE w.version = ? AND d2.path = ?))",
            [condition.key, version, condition.key],
        )
    if not re.match(_HEX, str(value)):
        raise Refused(
            f"condition {condition.text!r}: {value!r} is neither an MD5 (at least 6 hex digits, "
            "as in dvc.lock) nor a version like v1.2.0"
        )
    return (
        "v.id IN (SELECT version_id FROM data_item WHERE path = ? "
        f"AND substr(md5, 1, length(?)) {op} ?)",
        [condition.key, value, value],
    )


def compile_query(query: Query) -> tuple[str, list[Any]]:
    """The SELECT for a query: tags of matching versions, ordered and limited."""
    where: list[str] = []
    params: list[Any] = []
    for condition in query.conditions:
        sql, values = condition_sql(condition)
        where.append(sql)
        params += values
    if query.author:
        where.append(
            "(instr(lower(v.author), lower(?)) OR instr(lower(v.email), lower(?)) OR "
            "instr(lower(coalesce(v.trained_by, '')), lower(?)) OR "
            "instr(lower(coalesce(v.trained_email, '')), lower(?)))"
        )
        params += [query.author] * 4
    if query.since is not None:
        where.append("v.created_epoch >= ?")
        params.append(query.since)
    if query.until is not None:
        where.append("v.created_epoch < ?")
        params.append(query.until)
    if query.stage:
        where.append("EXISTS (SELECT 1 FROM holder h WHERE h.tag = v.tag AND h.stage = ?)")
        params.append(query.stage)
    direction = "DESC" if query.descending else "ASC"
    source, _, key = query.sort.partition(".")
    if source == "metrics":
        order = (
            f"(SELECT value FROM metric_value m WHERE m.version_id = v.id AND m.name = ?) "
            f"{direction}"
        )
        params.append(key)
    elif source == "config":
        order = (
            "(SELECT coalesce(number, value) FROM param_value p "
            "WHERE p.version_id = v.id AND p.key = ?) "
            f"{direction}"
        )
        params.append(key)
    else:
        order = {"version": "", "created": "v.created_epoch", "author": "v.author"}[query.sort]
        order += f" {direction}" if order else ""
    # Skipped versions have no ordinal; sorting by it walks an index and stops at --limit.
    order = f"{order} NULLS LAST, " if order else ""
    sql = (
        "SELECT v.tag FROM version v WHERE v.ordinal IS NOT NULL"
        + "".join(f" AND {w}" for w in where)
        + f" ORDER BY {order}v.ordinal {direction}"
    )
    if query.limit is not None:
        sql += " LIMIT ?"
        params.append(query.limit)
    return sql, params


def run(
    conn: sqlite3.Connection, query: Query, key_metrics: tuple[str, ...]
) -> list[dict[str, Any]]:
    """Matching versions as dicts: the version's fields, all its metrics, the config asked about."""
    if query.limit is not None and not 1 <= query.limit <= MAX_LIMIT:
        raise Refused(f"a limit of {query.limit} rows: give a number from 1 to {MAX_LIMIT}")
    check_fields(conn, query)
    sql, params = compile_query(query)
    tags = [tag for (tag,) in conn.execute(sql, params)]
    if not tags:
        return []
    marks = ",".join("?" * len(tags))
    rows = {}
    for row in conn.execute(
        "SELECT tag, version, created, author, email, commit_id, bump, reason, stages "
        f"FROM versions WHERE tag IN ({marks})",
        tags,
    ):
        tag, version, created, author, email, commit, bump, reason, stages = row
        rows[tag] = {
            "version": version,
            "tag": tag,
            "created": created,
            "author": author,
            "email": email,
            "commit": commit,
            "bump": bump,
            "reason": reason,
            "stages": stages.split(",") if stages else [],
            "metrics": {},
            "config": {},
        }
    for tag, name, value in conn.execute(
        "SELECT v.tag, m.name, m.value FROM metric_value m JOIN version v "
        f"ON v.id = m.version_id WHERE v.tag IN ({marks})",
        tags,
    ):
        rows[tag]["metrics"][name] = value
    keys = [c.key for c in query.conditions if c.source == "config"]
    if query.sort.startswith("config."):
        keys.append(query.sort.partition(".")[2])
    if keys:
        for tag, key, value, number in conn.execute(
            "SELECT v.tag, p.key, p.value, p.number FROM param_value p JOIN version v "
            f"ON v.id = p.version_id WHERE v.tag IN ({marks}) "
            f"AND key IN ({','.join('?' * len(keys))})",
            [*tags, *keys],
        ):
            rows[tag]["config"][key] = number if number is not None else value
    return [rows[tag] for tag in tags]


def columns(query: Query, rows: list[dict[str, Any]], key_metrics: tuple[str, ...]) -> list[str]:
    """Table columns: the version's fields, key metrics, and every field the query names."""
    metrics = list(key_metrics) or sorted({m for r in rows for m in r["metrics"]})
    named = [c.key for c in query.conditions if c.source == "metrics"]
    if query.sort.startswith("metrics."):
        named.append(query.sort.partition(".")[2])
    metrics += [m for m in named if m not in metrics]
    config = list(dict.fromkeys(k for r in rows for k in r["config"]))
    return (
        ["version", "created", "author", "commit", "bump", "stages"]
        + [f"metrics.{m}" for m in metrics]
        + [f"config.{k}" for k in config]
    )


def flat(row: dict[str, Any], short: bool) -> dict[str, Any]:
    """One row for a table or CSV: nested metrics and config as dotted columns."""
    out = {
        "version": row["version"],
        "created": row["created"][:19].replace("T", " ") if short else row["created"],
        "author": row["author"],
        "commit": row["commit"][:10] if short else row["commit"],
        "bump": row["bump"] or "",
        "stages": ",".join(row["stages"]),
    }
    out.update({f"metrics.{k}": v for k, v in row["metrics"].items()})
    out.update({f"config.{k}": v for k, v in row["config"].items()})
    return out


# ---- weightline sql ----------------------------------------------------------------------------

_VIEW_NAMES = frozenset(VIEWS)
_ALLOWED_ACTIONS = {
    sqlite3.SQLITE_SELECT,
    sqlite3.SQLITE_READ,
    sqlite3.SQLITE_FUNCTION,
    sqlite3.SQLITE_RECURSIVE,
}


def authorizer(
    action: int, arg1: str | None, arg2: str | None, db: str | None, view: str | None
) -> int:
    """Reading the documented views (and what they read) only; nothing else at all.

    SQLite names the innermost view (or WITH table) a read happens through: a table is read only
    through a documented view, and a WITH table's own rows (no database) freely. A WITH table
    named like a view, which would pass for it, is refused before the statement runs.
    """
    if action not in _ALLOWED_ACTIONS:
        return sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_READ and db is not None and _VIEW_NAMES.isdisjoint((arg1, view)):
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


_SHADOW = r"(?i)\b(?:{})\s*(?:\([^)]*\))?\s+as\s*(?:not\s+)?(?:materialized\s*)?\("


TIME_LIMIT = 5.0  # seconds: a question to the registry answers in milliseconds
ROW_LIMIT = 100_000  # rows returned; the registry's views have one row per version or so
MEMORY_LIMIT = 256 * 1024 * 1024  # bytes SQLite may allocate while the statement runs


def memory_counter() -> Callable[[], int] | None:
    """SQLite's own count of the bytes it holds (`sqlite3_memory_used`), for this process only,
    or None where the library does not expose it. (PRAGMA hard_heap_limit would do, but it is
    process-wide and can only be lowered: a serving process would keep the limit for good.)"""
    try:
        import _sqlite3
        import ctypes

        function = ctypes.CDLL(_sqlite3.__file__).sqlite3_memory_used
    except (ImportError, OSError, AttributeError):
        return None
    function.restype, function.argtypes = ctypes.c_int64, []
    return lambda: int(function())


def run_sql(
    path: Path,
    statement: str,
    limit: int | None = None,
    time_limit: float = TIME_LIMIT,
    row_limit: int = ROW_LIMIT,
    memory_limit: int = MEMORY_LIMIT,
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """(column names, rows) of one SELECT or WITH statement, on a read-only connection.

    A statement is anyone's text, so it runs under limits: `time_limit` seconds and
    `memory_limit` bytes of SQLite's memory (a progress handler interrupts it; temporary tables
    and sorts are kept in memory, so they count, and cannot fill the disk), values no longer than
    `memory_limit`, and `row_limit` rows. `limit` just cuts the answer short, as LIMIT would.
    """
    import time

    text = statement.strip().rstrip(";").strip()
    first = re.sub(r"^(\s*(--[^\n]*\n|/\*.*?\*/))*", "", text, flags=re.DOTALL).lstrip()
    if not re.match(r"(?i)^(select|with)\b", first):
        raise Refused(
            "weightline sql runs one SELECT (or WITH ... SELECT) statement; the index is "
            "read-only here (it is rebuilt from git tags, never edited)"
        )
    if re.search(_SHADOW.format("|".join(VIEWS)), text):
        raise Refused(f"a WITH table may not be named like a view ({', '.join(VIEWS)})")
    if not (time_limit > 0 and row_limit > 0 and memory_limit > 0):
        raise Refused("the time, row and memory limits of sql must be positive")
    used = memory_counter()
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    stopped: list[str] = []
    baseline = used() if used else 0
    deadline = time.monotonic() + time_limit

    def progress() -> int:
        if time.monotonic() > deadline:
            stopped.append(
                f"the statement ran longer than {time_limit:g} s and was stopped: narrow it down "
                "(WHERE, LIMIT; a recursive WITH needs a bound) or raise the time limit"
            )
        elif used and used() - baseline > memory_limit:
            stopped.append(
                f"the statement needed more than {memory_limit / 2**20:g} MiB and was stopped: "
                "narrow it down (WHERE, LIMIT) or raise the memory limit"
            )
        return 1 if stopped else 0

    try:
        conn.execute("PRAGMA temp_store = MEMORY")
        conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, min(memory_limit, 1_000_000_000))
        conn.set_progress_handler(progress, 1_000)
        conn.set_authorizer(authorizer)
        try:
            cursor = conn.execute(text)
            wanted = min(limit, row_limit + 1) if limit else row_limit + 1
            rows = cursor.fetchmany(wanted)
        except (sqlite3.Warning, sqlite3.ProgrammingError) as error:
            raise Refused(f"{error}: give exactly one SELECT statement") from None
        except MemoryError:
            raise Refused(
                "the statement needed more memory than there is: narrow it down"
            ) from None
        except sqlite3.DatabaseError as error:
            message = str(error)
            if stopped:
                raise Refused(stopped[0]) from None
            if "too big" in message:
                message += f" (a value longer than {memory_limit / 2**20:g} MiB)"
            if "not authorized" in message or "prohibited" in message:
                message += f": only the views {', '.join(VIEWS)} can be read"
            raise Refused(f"SQL error: {message} (see `weightline sql --help`)") from None
        if len(rows) > row_limit:
            raise Refused(
                f"the statement returns more than {row_limit} rows: add LIMIT (or a narrower "
                "WHERE), or raise the row limit"
            )
        names = [d[0] for d in cursor.description or []]
        return names, rows
    finally:
        conn.close()
