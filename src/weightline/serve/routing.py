"""Which version answers a request: the primary, or a canary for a set share of traffic.

A request that gives a key (the `X-Weightline-Key` header or `?key=`) is placed by a hash of the
key alone, so one user sees one version for as long as the canary runs, in every server process
and after restarts (Python's own `hash` is salted per process, so it is not used). The hash is not
salted with the canary's version either: the same share of users is the canary cohort for every
canary, which keeps "who saw the new model" easy to explain. Requests without a key are placed at
random in the same proportion.
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass

from weightline.errors import WeightlineError
from weightline.serve.served import Served

_SHARE = re.compile(r"^(?P<ref>[^=]+)=\s*(?P<share>[0-9]+(?:\.[0-9]+)?)\s*%$")


def parse_canary(text: str) -> tuple[str, float]:
    """`v1.3.0=10%` (or `staging=5%`, a stage followed as it moves) -> (reference, 0.10)."""
    match = _SHARE.match(text.strip())
    if not match:
        raise WeightlineError(
            f"--canary {text!r}: write VERSION=SHARE%, e.g. --canary v1.3.0=10% "
            "(or a stage: --canary staging=10%)"
        )
    share = float(match["share"]) / 100
    if not 0 < share < 1:
        raise WeightlineError(
            f"--canary {text!r}: the share must be above 0% and below 100% "
            "(to send everything to a version, promote it)"
        )
    return match["ref"].strip(), share


def bucket(key: str) -> float:
    """A stable number in [0, 1) for a key: the same key gives the same number everywhere."""
    digest = hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


@dataclass(frozen=True)
class Routing:
    """What answers now; replaced whole on every swap, never changed in place."""

    primary: Served
    canary: Served | None = None
    share: float = 0.0

    def choose(self, key: str | None) -> tuple[Served, str]:
        """The version for one request and its role ("primary" or "canary")."""
        canary = self.canary
        if canary is None or canary.version == self.primary.version:
            return self.primary, "primary"
        draw = bucket(key) if key is not None else random.random()
        if draw < self.share:
            return canary, "canary"
        return self.primary, "primary"
