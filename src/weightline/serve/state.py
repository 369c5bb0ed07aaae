"""What the app and the stage follower share.

`routing` is the only thing that changes while serving, and it changes by one assignment of a
new, fully built `Routing`: a request reads it once, at its start, and keeps that object (and so
that version's model) for its whole life, however many swaps happen meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from weightline.serve.metrics import ServeMetrics
from weightline.serve.predlog import PredictionLog
from weightline.serve.routing import Routing

if TYPE_CHECKING:
    from weightline.serve.follow import Follower


@dataclass
class ServerState:
    routing: Routing
    metrics: ServeMetrics
    predictions: PredictionLog | None = None
    follower: Follower | None = None
