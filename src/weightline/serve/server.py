"""Putting it together: resolve, load, verify, warm, then serve under uvicorn and follow the stage.

One process, one event loop. To scale out, run several servers behind a load balancer: each
follows the stage by itself, so all of them converge on the new holder within one poll interval
(or at once, with POST /admin/check on each).
"""

from __future__ import annotations

import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from weightline import logs
from weightline.serve.follow import Follower, Target
from weightline.serve.metrics import ServeMetrics
from weightline.serve.predlog import PredictionLog
from weightline.serve.registry import ProjectRegistry, Registry
from weightline.serve.routing import parse_canary
from weightline.serve.state import ServerState

if TYPE_CHECKING:
    from fastapi import FastAPI

log = logs.get(__name__)


@dataclass(frozen=True)
class Options:
    """What `weightline serve` was asked to do."""

    ref: str
    root: Path
    host: str = "127.0.0.1"
    port: int = 8000
    canary: str | None = None  # "v1.3.0=10%" or "staging=10%"
    remote: str | None = None  # git remote to fetch stage tags from; None: this clone's tags
    interval: float = 30.0
    retry_after: float = 300.0
    predictions: Path | None = None  # the prediction log; None: no log


def default_remote(root: Path) -> str | None:
    """The project's git remote ([tool.weightline] git_remote) if this clone has it."""
    from weightline import api

    name = api.settings(root).git_remote
    done = subprocess.run(["git", "remote"], cwd=root, capture_output=True, text=True, check=False)
    return name if name in done.stdout.split() else None


def build(options: Options, registry: Registry | None = None) -> tuple[FastAPI, ServerState]:
    """The app and its state, with the first version(s) loaded, verified and warmed."""
    from weightline.serve.app import create_app

    canary, share = parse_canary(options.canary) if options.canary else (None, 0.0)
    follower = Follower(
        registry or ProjectRegistry(options.root, options.remote),
        Target.of(options.ref),
        Target.of(canary) if canary else None,
        share,
        options.interval,
        options.retry_after,
    )
    routing = follower.initial()
    predictions = PredictionLog(options.predictions) if options.predictions else None
    state = ServerState(routing, ServeMetrics(), predictions, follower)
    follower.attach(state)
    return create_app(state), state


def serve(options: Options) -> None:
    """Serve until interrupted (SIGINT/SIGTERM); SIGHUP checks the stage at once."""
    import uvicorn

    app, state = build(options)
    follower = state.follower
    assert follower is not None
    routing = state.routing
    log.info(
        "serving %s (%s)%s on http://%s:%d%s",
        routing.primary.tag,
        options.ref,
        f", canary {routing.canary.tag} at {routing.share:.0%}" if routing.canary else "",
        options.host,
        options.port,
        "; following "
        + (f"git remote {options.remote!r}" if options.remote else "this clone's tags")
        + f" every {options.interval:g}s"
        if follower.primary.stage or follower.canary
        else "",
    )
    previous = signal.signal(signal.SIGHUP, lambda *_: follower.wake())
    follower.start()
    config = uvicorn.Config(
        app,
        host=options.host,
        port=options.port,
        access_log=False,
        log_config=None,  # the CLI's logging configuration applies
        server_header=False,
    )
    try:
        uvicorn.Server(config).run()
    finally:
        follower.stop()
        signal.signal(signal.SIGHUP, previous)
        if state.predictions is not None:
            state.predictions.close()
