"""How commands print: aligned tables for people, JSON (`--json`) or CSV (`--csv`) for programs."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence

# `typing` for the type checker only: the query path does not import it (see settings.py).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# A cell that a spreadsheet would run as a formula: neutralised in CSV output by a leading quote.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    widths = {c: max([len(c), *(len(cell(r.get(c))) for r in rows)]) for c in columns}
    lines = ["  ".join(c.upper().ljust(widths[c]) for c in columns)]
    lines += ["  ".join(cell(r.get(c)).ljust(widths[c]) for c in columns) for r in rows]
    return "\n".join(line.rstrip() for line in lines)


def cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list | tuple):
        return ",".join(map(str, value))
    return str(value)


def print_json(value: object) -> None:
    print(json.dumps(value, indent=2, default=str, ensure_ascii=False))


def safe_csv_cell(value: object) -> object:
    """A text cell that starts like a formula gets a leading `'` (OWASP's CSV-injection advice);
    numbers stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def print_csv(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> None:
    import csv

    writer = csv.DictWriter(sys.stdout, fieldnames=list(columns), extrasaction="ignore")
    writer.writeheader()
    writer.writerows({c: safe_csv_cell(r.get(c)) for c in columns} for r in rows)


def emit(rows: list[dict[str, Any]], columns: Sequence[str], fmt: str, empty: str) -> None:
    """Rows as an aligned table, JSON or CSV on stdout."""
    if fmt == "json":
        print_json(rows)
    elif fmt == "csv":
        print_csv(rows, columns)
    elif rows:
        print(table(rows, columns))
    else:
        print(empty)
