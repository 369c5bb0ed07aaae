"""Work done in a forked copy of this process, on the other core.

A cold index build is CPU-bound Python; on two cores it is read in two halves at once (see
index.read_in_parallel). Forking is safe only in a process with no other thread: a thread that
held a lock at the fork leaves it held for ever in the child. So a process that has one (a
server, a training script with a native thread pool) does the work itself, as does a platform
where the threads cannot be counted (/proc/self/task is Linux's).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import suppress


def can_fork() -> bool:
    """True when a fork would pay and is safe: Linux, two cores this process may run on (not
    merely on the machine), and no thread but this one."""
    try:
        return len(os.sched_getaffinity(0)) > 1 and len(os.listdir("/proc/self/task")) == 1
    except (AttributeError, OSError):  # not Linux: the threads cannot be counted
        return False


def start(work: Callable[[], None]) -> int:
    """Run `work` in a forked child; its pid. The child never returns into the caller's code:
    it leaves by os._exit (0 when `work` returned), skipping atexit and the parent's buffers."""
    pid = os.fork()
    if pid:
        return pid
    status = 1
    try:
        work()
        status = 0
    finally:
        os._exit(status)


def succeeded(pid: int) -> bool:
    """Wait for a child of start(); True if its work returned."""
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


def stop(pid: int) -> None:
    """End a child of start() that is no longer wanted, and reap it."""
    import signal

    with suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
