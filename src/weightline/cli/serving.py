"""Subcommands for serving: serve, canary-report, timeline.

FastAPI, uvicorn and prometheus-client are imported inside the commands, so registering these
commands costs nothing: `weightline --help` stays fast and works without the `serve` extra.
Until the lead wires `add_commands` into cli.main, `python -m weightline.cli.serving ...` runs them.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from weightline.errors import WeightlineError

MISSING_EXTRA = (
    "serving needs FastAPI, uvicorn and prometheus-client: pip install 'weightline[serve]'"
)


def _require_extra() -> None:
    import importlib.util

    missing = [
        name
        for name in ("fastapi", "uvicorn", "prometheus_client")
        if importlib.util.find_spec(name) is None
    ]
    if missing:
        raise WeightlineError(f"{MISSING_EXTRA} (missing: {', '.join(missing)})")


def _root() -> Path:
    from weightline import api

    return api.settings().root


def _server_logging() -> None:
    """A server's log: timestamped lines on stderr, swaps and refusals included (INFO), and
    uvicorn's own lines in the same format."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    for name in ("weightline.serve", "uvicorn"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(logging.INFO)
        logger.propagate = False


def cmd_serve(args: argparse.Namespace) -> None:
    _require_extra()
    from weightline.serve.predlog import DEFAULT_LOG
    from weightline.serve.server import Options, default_remote, serve

    _server_logging()
    if args.interval <= 0 or args.retry_after < 0:
        raise WeightlineError("--interval must be above 0 and --retry-after at least 0 (seconds)")
    if not 0 <= args.port <= 65535:
        raise WeightlineError(f"--port {args.port}: give a TCP port between 1 and 65535")
    root = _root()
    remote = None if args.local else (args.remote or default_remote(root))
    predictions = None if args.no_log else Path(args.log) if args.log else root / DEFAULT_LOG
    serve(
        Options(
            ref=args.ref,
            root=root,
            host=args.host,
            port=args.port,
            canary=args.canary,
            remote=remote,
            interval=args.interval,
            retry_after=args.retry_after,
            predictions=predictions,
        )
    )


def cmd_canary_report(args: argparse.Namespace) -> None:
    _require_extra()
    from weightline.serve.scrape import report, table

    result = report(args.url)
    print(json.dumps(result, indent=2) if args.json else table(result))


def cmd_timeline(args: argparse.Namespace) -> None:
    import time

    from weightline.serve import timeline
    from weightline.serve.predlog import DEFAULT_LOG
    from weightline.store.query import parse_time

    root = _root()
    logs = [Path(p) for p in args.log] or [root / DEFAULT_LOG]
    logs = [p for p in logs if p.exists() or args.log]
    since = parse_time(args.since, time.time()) if args.since else None
    result = timeline.for_project(root, logs, timeline.parse_bucket(args.bucket), args.stage, since)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(timeline.text(result))


def add_commands(add: Callable[..., argparse.ArgumentParser]) -> None:
    """Register serve, canary-report and timeline through cli.main's `add(name, func, help)`."""
    serve = add("serve", cmd_serve, "serve a stage or version over HTTP, following the stage")
    serve.add_argument(
        "ref", help="a stage (production: followed as it moves) or an exact version (v1.2.0)"
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--canary",
        metavar="REF=SHARE%",
        help="send a share of requests to another version or stage, e.g. v1.3.0=10%% or "
        "staging=10%%; requests with the same X-Weightline-Key header (or ?key=) always go "
        "to the same version",
    )
    follow = serve.add_mutually_exclusive_group()
    follow.add_argument(
        "--remote",
        help="git remote to fetch stage tags from (default: [tool.weightline] git_remote, "
        "if this clone has it)",
    )
    follow.add_argument(
        "--local", action="store_true", help="follow this clone's tags only; fetch nothing"
    )
    serve.add_argument(
        "--interval",
        type=float,
        default=30.0,
        help="seconds between stage checks (default 30; SIGHUP or POST /admin/check: now)",
    )
    serve.add_argument(
        "--retry-after",
        type=float,
        default=300.0,
        help="seconds before a refused version is tried again by polling (default 300)",
    )
    logs = serve.add_mutually_exclusive_group()
    logs.add_argument(
        "--log", help="prediction log, JSON lines (default .weightline/serve/predictions.jsonl)"
    )
    logs.add_argument("--no-log", action="store_true", help="write no prediction log")

    canary = add(
        "canary-report",
        cmd_canary_report,
        "compare the versions a server is answering with: error rate, latency, outputs",
    )
    canary.add_argument(
        "--url",
        action="append",
        required=True,
        help="a server's base URL (repeat for several servers: figures are summed)",
    )
    canary.add_argument("--json", action="store_true")

    timeline = add(
        "timeline", cmd_timeline, "stage events merged with what was served, per version"
    )
    timeline.add_argument(
        "--log",
        action="append",
        default=[],
        help="prediction log(s) to read (default .weightline/serve/predictions.jsonl)",
    )
    timeline.add_argument("--bucket", default="1h", help="served figures per: 30s, 10m, 1h, 1d")
    timeline.add_argument("--stage", help="only this stage's events (e.g. production)")
    timeline.add_argument("--since", help="from: 30d, 12h, 90m or a date")
    timeline.add_argument("--json", action="store_true")


def main(argv: Sequence[str] | None = None) -> int:
    """These commands alone, until cli.main registers them: python -m weightline.cli.serving."""
    parser = argparse.ArgumentParser(prog="weightline")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, func: Callable[..., None], help: str) -> argparse.ArgumentParser:
        command = sub.add_parser(name, help=help, description=help)
        command.set_defaults(func=func)
        return command

    add_commands(add)
    args = parser.parse_args(argv)
    try:
        args.func(args)
    except WeightlineError as error:
        print(f"weightline: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
