"""The prediction log: one JSON line per request, and one per swap, for the timeline.

Lines hold the time, the version (and role) that answered, a SHA-256 of the request body (never
the inputs themselves), the latency, the HTTP status and the outputs. Swaps (and refused swaps)
are logged too, so the timeline shows when the server actually changed version, not only when the
stage tag was written. Each line is one `write` on a file opened for appending, so several
servers may share one log; rotate it with a copy-and-truncate tool (logrotate's `copytruncate`).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from weightline import logs

log = logs.get(__name__)

DEFAULT_LOG = Path(".weightline") / "serve" / "predictions.jsonl"  # under the project root


class PredictionLog:
    """Appends JSON lines to a file; thread-safe (the follower logs swaps from its thread)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._lock = threading.Lock()

    def write(self, record: dict[str, Any]) -> None:
        line = (json.dumps(record, separators=(",", ":"), default=str) + "\n").encode()
        with self._lock:
            try:
                os.write(self._fd, line)
            except OSError as error:  # a full disk must not fail the request
                log.warning("could not write to the prediction log %s: %s", self.path, error)

    def prediction(
        self,
        version: str,
        role: str,
        digest: str,
        seconds: float,
        status: int,
        outputs: list[dict[str, Any]] | None = None,
        error: str | None = None,
    ) -> None:
        record: dict[str, Any] = {
            "t": round(time.time(), 6),
            "version": version,
            "role": role,
            "input_sha256": digest,
            "latency_ms": round(seconds * 1000, 3),
            "status": status,
        }
        if outputs is not None:
            record["output"] = outputs
        if error is not None:
            record["error"] = error
        self.write(record)

    def event(self, kind: str, **fields: Any) -> None:
        self.write({"t": round(time.time(), 6), "event": kind, **fields})

    def close(self) -> None:
        with self._lock:
            os.close(self._fd)


def read(paths: Iterable[Path]) -> Iterator[dict[str, Any]]:
    """Every well-formed line of the logs (a torn or foreign line is skipped, once warned)."""
    for path in paths:
        try:
            handle = path.open(encoding="utf-8", errors="replace")
        except OSError as error:
            log.warning("cannot read prediction log %s: %s", path, error)
            continue
        with handle:
            skipped = 0
            for line in handle:
                try:
                    record = json.loads(line)
                except ValueError:
                    skipped += 1
                    continue
                if isinstance(record, dict) and isinstance(record.get("t"), int | float):
                    yield record
                else:
                    skipped += 1
            if skipped:
                log.warning("%s: skipped %d unreadable lines", path, skipped)
