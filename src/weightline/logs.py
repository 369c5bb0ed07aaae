"""The library's loggers, with `logging` imported only by a command that uses a module that logs.

Importing `logging` costs a command about 15 ms (with traceback, threading and more), a sixth of
a rollback by links (benchmarks/restore_speed.py), and most commands never log. So a module
that logs gets its logger here (`log = logs.get(__name__)`), and whoever configures logging
(the command line: where messages go, DVC's bars) does it through `when_ready`: at once if
`logging` is in use already, else when the first logger is asked for, before anything is logged.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # `typing` for the type checker only (see weightline.settings)
if TYPE_CHECKING:
    import logging
    from collections.abc import Callable
    from types import ModuleType

_waiting: list[Callable[[ModuleType], None]] = []


def when_ready(setup: Callable[[ModuleType], None]) -> None:
    """Run `setup(logging)` now if `logging` is imported, else before a logger is first given."""
    if "logging" in sys.modules:
        setup(sys.modules["logging"])
    else:
        _waiting.append(setup)


def get(name: str) -> logging.Logger:
    """The logger `name`, every waiting set-up done first."""
    import logging

    while _waiting:
        _waiting.pop(0)(logging)
    return logging.getLogger(name)


def in_use() -> bool:
    """Whether anything could be listening: nobody who has not imported `logging` has
    configured it, so an INFO message would go nowhere (Python's last-resort handler shows
    warnings only) and need not import it."""
    return "logging" in sys.modules
