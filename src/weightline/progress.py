"""Progress for a person waiting at a terminal: a line per phase, a bar while bytes move.

Library code reports here and never prints; what is shown is decided once, by the command line
(`configure`): on a terminal (stderr), unless `--quiet` or machine output (`--json`, `--csv`).
Off by default, so API callers, CI logs and tests see nothing unless they ask. When off,
phases still go to the log at INFO (`weightline -v` shows them in a CI log).

DVC draws its own bars (tqdm) when it pushes, fetches or checks out on a terminal: `configure`
turns those on and off with ours, so `--json` or `--quiet` on a terminal shows none of them.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from weightline import logs

TYPE_CHECKING = False  # `typing` for the type checker only (see weightline.settings)
if TYPE_CHECKING:
    from typing import TextIO

REDRAW = 0.1  # seconds between redraws of a bar: often enough to look alive, cheap to write
_stream: TextIO | None = None


def configure(stream: TextIO | None) -> None:
    """Show progress on `stream` (None: show nothing, ours or DVC's)."""
    global _stream
    _stream = stream
    # DVC's bars hide themselves when the "dvc.progress" logger is above ERROR.
    logs.when_ready(
        lambda logging: logging.getLogger("dvc.progress").setLevel(
            logging.NOTSET if stream else logging.CRITICAL
        )
    )


def for_terminal(quiet: bool, machine_output: bool, stream: TextIO | None = None) -> TextIO | None:
    """The stream progress belongs on for a command: stderr when it is a terminal and the
    command is neither quiet nor printing for programs, else None."""
    stream = stream or sys.stderr
    if quiet or machine_output or not stream.isatty():
        return None
    return stream


def shown() -> bool:
    return _stream is not None


def phase(text: str) -> None:
    """One line saying what starts now (`reproduce model@v1.0.0 [2/4]: dvc pull`)."""
    if _stream is None:
        if logs.in_use():
            logs.get("weightline").info("%s", text)
        return
    _stream.write(f"weightline: {text}\n")
    _stream.flush()


def size(count: float) -> str:
    """Bytes for people: 512 B, 3.4 MiB, 1.0 GiB."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    raise AssertionError("unreachable")


class Bar:
    """Bytes moved so far of a transfer; redraws itself at most every REDRAW seconds."""

    def __init__(self, label: str, total: int | None, stream: TextIO | None) -> None:
        self.label, self.total, self.stream = label, total, stream
        self.done = 0
        self.started = self.drawn = time.monotonic()

    def advance(self, count: int) -> None:
        self.moved_to(self.done + count)

    def moved_to(self, done: int) -> None:
        self.done = done
        now = time.monotonic()
        if self.stream is not None and now - self.drawn >= REDRAW:
            self.drawn = now
            self.stream.write(f"\r\x1b[K{self.line(now)}")
            self.stream.flush()

    def line(self, now: float) -> str:
        seconds = max(now - self.started, 1e-6)
        rate = f"{size(self.done / seconds)}/s"
        if self.total:
            share = min(self.done / self.total, 1.0)
            filled = int(share * 20)
            return (
                f"weightline: {self.label} [{'#' * filled}{'.' * (20 - filled)}] {share:4.0%} "
                f"{size(self.done)} of {size(self.total)}, {rate}"
            )
        return f"weightline: {self.label} {size(self.done)}, {rate}"

    def finish(self) -> None:
        if self.stream is None:
            return
        seconds = time.monotonic() - self.started
        self.stream.write(
            f"\r\x1b[Kweightline: {self.label}: {size(self.done)} in {seconds:.1f} s\n"
        )
        self.stream.flush()


@contextmanager
def transfer(label: str, total: int | None = None) -> Iterator[Bar]:
    """A byte bar for the block, which calls `bar.advance(n)` (or `moved_to`) as bytes move;
    a last line with the size and time when it ends, unless it ends in an error."""
    bar = Bar(label, total, _stream)
    try:
        yield bar
    except BaseException:
        if bar.stream is not None and bar.drawn > bar.started:  # end the bar's line: the
            bar.stream.write("\n")  # error message then starts on a line of its own
        raise
    bar.finish()
