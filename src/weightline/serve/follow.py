"""Following a stage: when its holder changes, load the new version beside the old and swap.

The follower polls (every `interval` seconds, or at once on SIGHUP or POST /admin/check): it
brings the team's stage tags in, asks which version holds the stage, and if that is not the one
serving, it fetches and verifies the new version (`api.load_model`), warms it with one prediction
and only then swaps the whole routing in one assignment. A version that fails any of that is
refused: the old one keeps serving, and the refusal (version, when, why) is kept for /version and
written to the log. A refused version is retried only after `retry_after` seconds (a corrupt
download is not worth repeating every poll), or at once on an explicit check.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from weightline import logs
from weightline.errors import WeightlineError
from weightline.serve.registry import Registry, is_stage
from weightline.serve.routing import Routing
from weightline.serve.served import Served, prepare
from weightline.serve.state import ServerState

log = logs.get(__name__)


@dataclass(frozen=True)
class Target:
    """What a role serves: a stage followed as it moves, or one fixed version."""

    ref: str
    stage: str | None

    @classmethod
    def of(cls, ref: str) -> Target:
        return cls(ref, ref if is_stage(ref) else None)


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


class Follower:
    """Polls the registry and swaps the state's routing when a followed stage moves."""

    def __init__(
        self,
        registry: Registry,
        primary: Target,
        canary: Target | None = None,
        share: float = 0.0,
        interval: float = 30.0,
        retry_after: float = 300.0,
    ) -> None:
        self.registry = registry
        self.primary = primary
        self.canary = canary
        self.share = share
        self.interval = interval
        self.retry_after = retry_after
        self.state: ServerState | None = None
        self.last_check: float | None = None
        self.last_error: str | None = None
        self.last_refused: dict[str, Any] | None = None
        self.swaps: deque[dict[str, Any]] = deque(maxlen=100)
        self._refused_at: dict[tuple[str, str], float] = {}
        self._unheld_warned: set[str] = set()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._forced = False
        self._thread: threading.Thread | None = None

    # --- start ------------------------------------------------------------------------------

    def initial(self) -> Routing:
        """The first routing; a reference that cannot be served is an error (nothing to serve)."""
        try:
            self.registry.refresh()
        except WeightlineError as error:
            log.warning("%s; serving from this clone's tags for now", error)
        version, _ = self.registry.resolve(self.primary.ref)
        primary = self._prepare(version, self.primary.stage)
        canary = None
        if self.canary is not None:
            if self.canary.stage is not None and self.canary.stage not in self.registry.holders():
                log.warning(
                    "no version holds %s yet: no canary traffic until one does", self.canary.stage
                )
            else:
                canary_version, _ = self.registry.resolve(self.canary.ref)
                canary = self._prepare(canary_version, self.canary.stage)
        return Routing(primary, canary, self.share)

    def attach(self, state: ServerState) -> None:
        self.state = state
        routing = state.routing
        for role, served in (("primary", routing.primary), ("canary", routing.canary)):
            if served is not None:
                state.metrics.serving(served.version, role, served.sha256, True)
                self._record_swap(role, None, served, time.time(), time.time())

    def start(self) -> None:
        """Poll in a daemon thread (only when something is followed)."""
        followed = self.primary.stage or (self.canary is not None and self.canary.stage)
        if not followed or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="weightline-follow", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def wake(self) -> None:
        """Check now, retrying refused versions too (SIGHUP)."""
        self._forced = True
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.interval)
            self._wake.clear()
            if self._stop.is_set():
                break
            forced, self._forced = self._forced, False
            try:
                self.check(force=forced)
            except Exception:  # the poller must outlive any one failure
                log.exception("checking the stage failed; the server keeps serving")

    # --- one check --------------------------------------------------------------------------

    def check(self, force: bool = False) -> dict[str, str]:
        """One round: what happened to each role (unchanged, swapped to vX, refused vX, ...)."""
        assert self.state is not None, "attach() the follower to a server state first"
        with self._lock:
            self.last_check = time.time()
            try:
                self.registry.refresh()
                holders = self.registry.holders()
            except Exception as error:
                self.last_error = f"{type(error).__name__}: {error}"
                log.warning("could not read the stage (%s): still serving what was loaded", error)
                return {"error": self.last_error}
            self.last_error = None
            routing = self.state.routing
            outcome: dict[str, str] = {}
            primary = self._follow(
                "primary", self.primary, routing.primary, holders, force, outcome
            )
            canary = routing.canary
            if self.canary is not None:
                canary = self._follow("canary", self.canary, canary, holders, force, outcome)
            assert primary is not None
            if primary is not routing.primary or canary is not routing.canary:
                before = time.time()
                self.state.routing = Routing(primary, canary, self.share)  # the swap
                after = time.time()
                for role, old, new in (
                    ("primary", routing.primary, primary),
                    ("canary", routing.canary, canary),
                ):
                    if old is not new:
                        self._swapped(role, old, new, before, after)
            return outcome

    def _follow(
        self,
        role: str,
        target: Target,
        current: Served | None,
        holders: dict[str, str],
        force: bool,
        outcome: dict[str, str],
    ) -> Served | None:
        """The Served this role should have after this check (`current` when nothing changes)."""
        if target.stage is None:
            outcome[role] = "fixed"
            return current
        wanted = holders.get(target.stage)
        if wanted is None:
            if target.stage not in self._unheld_warned:
                self._unheld_warned.add(target.stage)
                log.warning(
                    "no version holds %s now: %s",
                    target.stage,
                    f"still serving {current.version}"
                    if role == "primary" and current
                    else "no canary traffic",
                )
            outcome[role] = "unheld"
            return current if role == "primary" else None
        self._unheld_warned.discard(target.stage)
        if current is not None and current.version == wanted:
            outcome[role] = "unchanged"
            return current
        refused_at = self._refused_at.get((role, wanted))
        if not force and refused_at is not None and time.time() - refused_at < self.retry_after:
            outcome[role] = (
                f"refused {wanted} (not retried until {_iso(refused_at + self.retry_after)})"
            )
            return current
        try:
            served = self._prepare(wanted, target.stage)
        except Exception as error:
            self._refuse(role, wanted, target.stage, current, error)
            outcome[role] = f"refused {wanted}"
            return current
        self._refused_at.pop((role, wanted), None)
        outcome[role] = f"swapped to {wanted}"
        return served

    def _prepare(self, version: str, stage: str | None) -> Served:
        loaded = self.registry.load(version)
        event = self.registry.stage_event(stage, version) if stage else None
        commit = str(getattr(loaded.version, "commit", ""))
        return prepare(self.registry.artifact, version, commit, loaded, event)

    def _refuse(
        self, role: str, version: str, stage: str, current: Served | None, error: Exception
    ) -> None:
        now = time.time()
        reason = str(error) or type(error).__name__
        self._refused_at[(role, version)] = now
        self.last_refused = {
            "role": role,
            "version": version,
            "stage": stage,
            "at": _iso(now),
            "reason": reason,
            "kept": current.version if current else None,
        }
        log.error(
            "refused %s@%s for %s (%s): %s",
            self.registry.artifact,
            version,
            stage,
            role,
            reason,
        )
        if self.state is not None:
            self.state.metrics.swap(role, "refused")
            if self.state.predictions is not None:
                self.state.predictions.event("refused", **self.last_refused)

    def _swapped(
        self, role: str, old: Served | None, new: Served | None, before: float, after: float
    ) -> None:
        assert self.state is not None
        if old is not None:
            self.state.metrics.serving(old.version, role, old.sha256, False)
        if new is not None:
            self.state.metrics.serving(new.version, role, new.sha256, True)
        self.state.metrics.swap(role, "swapped")
        log.info(
            "%s now %s (was %s)",
            role,
            f"{new.tag}" if new else "off",
            old.version if old else "none",
        )
        self._record_swap(role, old, new, before, after)

    def _record_swap(
        self, role: str, old: Served | None, new: Served | None, before: float, after: float
    ) -> None:
        record = {
            "role": role,
            "from": old.version if old else None,
            "to": new.version if new else None,
            "at": _iso(before),
            "t_before": round(before, 6),
            "t_after": round(after, 6),
            "stage_tag": (new.stage_event or {}).get("tag") if new else None,
        }
        self.swaps.append(record)
        if self.state is not None and self.state.predictions is not None:
            self.state.predictions.event("swap", **record)

    def describe(self) -> dict[str, Any]:
        """What /version says about following."""
        return {
            "primary": self.primary.ref,
            "canary": self.canary.ref if self.canary else None,
            "share": self.share if self.canary else 0.0,
            "interval_s": self.interval,
            "remote": getattr(self.registry, "remote", None),
            "last_check": _iso(self.last_check) if self.last_check else None,
            "last_error": self.last_error,
        }
