"""`weightline`: parse the command line, run one command, map what went wrong to an exit code.

Commands live in one module per group (versions, stages, registry, hooks, serving). To start
fast, only the module of the command being run is imported (a warm `weightline query` at 10,000
versions costs about as much as `git for-each-ref`, so an import of every command module would
show in benchmarks/registry_scale.py); `--help` imports them all.

Exit codes: 0 success; each error class has its own (weightline.errors); 2 a wrong command
line; 70 an internal error (a bug: please report it with --traceback); 130 interrupted; 141
the reader of our output went away.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from importlib import import_module
from types import ModuleType

from weightline.errors import WeightlineError

GROUPS = {  # command -> the module under weightline.cli that defines it
    **dict.fromkeys(
        (
            "manifest", "register", "push", "ls", "show", "diff", "resolve", "checkout", "get",
            "verify", "predict", "settings",
        ),
        "versions",
    ),
    **dict.fromkeys(("promote", "rollback", "archive", "stages", "gate"), "stages"),
    **dict.fromkeys(("query", "sql", "drift", "report", "reproduce"), "registry"),
    **dict.fromkeys(("serve", "canary-report", "timeline"), "serving"),
    "hook": "hooks",
    "server": "team",
    "plots": "plots",
    "completion": "completion",
}  # fmt: skip
EX_SOFTWARE = 70
# Read-only commands that close what they open: they skip the garbage collector's last pass.
READ_ONLY = frozenset(("query", "sql", "ls", "show", "resolve", "stages", "settings", "completion"))

Adder = Callable[[str, Callable[[argparse.Namespace], int | None], str], argparse.ArgumentParser]


def terminal_columns() -> int:
    """What shutil.get_terminal_size() says of the width, without importing shutil."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns if sys.__stdout__ else 0
        except (ValueError, OSError):
            columns = 0
    return columns or 80


class HelpFormatter(argparse.HelpFormatter):
    """argparse's, told the terminal's width: argparse makes a formatter for every argument
    added, and finds the width through shutil, whose import (with bz2, lzma and more) cost a
    warm `weightline query` 1.5 ms of 50 in benchmarks/registry_scale.py."""

    def __init__(
        self,
        prog: str,
        indent_increment: int = 2,
        max_help_position: int = 24,
        width: int | None = None,
    ) -> None:
        if width is None:  # as argparse computes it
            width = terminal_columns() - 2
        super().__init__(prog, indent_increment, max_help_position, width)


class RawDescriptionHelpFormatter(HelpFormatter, argparse.RawDescriptionHelpFormatter):
    """argparse's, with the width found as HelpFormatter finds it."""


class Skipped:
    """Stands in for the parser of a command that is not being run: whatever its module adds to
    it is dropped. Building only the command being run (not every command of its group) saves
    a warm `weightline query` 2 ms of 50 in benchmarks/registry_scale.py."""

    def __getattr__(self, name: str) -> Callable[..., Skipped]:
        return lambda *args, **kwargs: self


def common_options(defaults: bool) -> argparse.ArgumentParser:
    """-v/-q/--traceback, accepted before or after the command name."""
    keep = None if defaults else argparse.SUPPRESS
    parent = argparse.ArgumentParser(add_help=False, formatter_class=HelpFormatter)
    parent.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0 if defaults else keep,
        help="say more (-vv: debug)",
    )
    parent.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        default=False if defaults else keep,
        help="errors only; no progress",
    )
    parent.add_argument(
        "--traceback", action="store_true", default=False if defaults else keep,
        help="show the Python traceback of an error",
    )  # fmt: skip
    return parent


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The command line; with `only`, just that command's group is imported, and just that
    command built (a quicker start)."""
    from weightline import __version__

    parser = argparse.ArgumentParser(
        prog="weightline",
        description="Versions of model weights as git tags, with lineage.",
        parents=[common_options(defaults=True)],
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"weightline {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    common = common_options(defaults=False)
    wanted = GROUPS.get(only or "")

    def add(
        name: str, func: Callable[[argparse.Namespace], int | None], help: str
    ) -> argparse.ArgumentParser:
        if wanted and name != only:
            return Skipped()  # type: ignore[return-value]  # takes whatever a parser would
        command = sub.add_parser(
            name, help=help, description=help, parents=[common], formatter_class=HelpFormatter
        )
        command.set_defaults(func=func)
        return command

    for group in [wanted] if wanted else list(dict.fromkeys(GROUPS.values())):  # help's order
        import_module(f"weightline.cli.{group}").add_commands(add)
    return parser


def configure_logging(verbose: int, quiet: bool) -> None:
    """The library logs; the command shows it on stderr, prefixed like every message. Set up
    when a module that logs is imported (weightline.logs), or now when -v asks for INFO: a
    progress line goes to the log only if `logging` is in use."""
    from weightline import logs

    def setup(logging: ModuleType) -> None:
        log = logging.getLogger("weightline")
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("weightline: %(message)s"))
        log.handlers[:] = [handler]
        log.propagate = False
        levels = {0: logging.WARNING, 1: logging.INFO}
        log.setLevel(logging.ERROR if quiet else levels.get(verbose, logging.DEBUG))

    logs.when_ready(setup)
    if verbose:
        logs.get("weightline")


def configure_progress(args: argparse.Namespace) -> None:
    """Progress on stderr when it is a terminal, unless --quiet or output for programs."""
    from weightline import progress

    machine = bool(getattr(args, "json", False) or getattr(args, "csv", False))
    progress.configure(progress.for_terminal(args.quiet, machine))


def skip_last_collection() -> None:
    """At exit, let the interpreter free what is left without a garbage collector's pass over
    all of it (argparse's, typing's, sqlite3's objects...): that pass cost a warm `weightline
    query` at 10,000 versions 4 ms of 47 (benchmarks/registry_scale.py). For the read-only
    commands of READ_ONLY, which close what they open themselves; in-process callers (tests)
    are not affected until their own exit."""
    import atexit
    import gc

    atexit.unregister(gc.freeze)  # once, however many commands a process runs
    atexit.register(gc.freeze)  # atexit runs before the interpreter's last collections


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    first = next((a for a in argv if not a.startswith("-")), None)
    args = build_parser(only=first).parse_args(argv)
    configure_logging(args.verbose, args.quiet)
    configure_progress(args)
    if args.command in READ_ONLY:
        skip_last_collection()
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # inside the try: a closed pipe shows here, not at interpreter exit
        return code
    except WeightlineError as error:
        import traceback

        if args.traceback:
            traceback.print_exc()
        print(f"weightline: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("weightline: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader (`| head`) went away: stop quietly, and keep Python from complaining when it
        # flushes stdout on exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except Exception as error:  # a bug: say so plainly, with the way to report it
        import traceback

        if args.traceback:
            traceback.print_exc()
        print(
            f"weightline: internal error: {type(error).__name__}: {error}\n"
            "This is a bug in weightline: please report it with the output of the same command "
            "run with --traceback.",
            file=sys.stderr,
        )
        return EX_SOFTWARE


def json_flag(command: argparse.ArgumentParser) -> None:
    command.add_argument("--json", action="store_true", help="print JSON for programs")


def formats(command: argparse.ArgumentParser) -> None:
    group = command.add_mutually_exclusive_group()
    group.add_argument("--json", action="store_true", help="print JSON for programs")
    group.add_argument("--csv", action="store_true", help="print CSV (formulas neutralised)")


def output_format(args: argparse.Namespace) -> str:
    return (
        "json"
        if getattr(args, "json", False)
        else "csv"
        if getattr(args, "csv", False)
        else "table"
    )
