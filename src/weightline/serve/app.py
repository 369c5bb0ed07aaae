"""The HTTP application: FastAPI routes over the shared server state.

Why FastAPI on uvicorn: typed request validation and an OpenAPI description come with it (here
the request schema is each version's signature, compiled once per version, because a swap may
change it), it runs on ASGI with a small footprint (one process, one event loop, no framework
threads), and it is the stack Python users of model servers already know. prometheus-client
renders /metrics.

Every response names the version that produced it: the `X-Weightline-Version` header (and
`X-Weightline-Role`: primary or canary), and a `version` field in every JSON body.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from weightline import logs
from weightline.serve.payload import InvalidInput
from weightline.serve.served import Served
from weightline.serve.state import ServerState

log = logs.get(__name__)

KEY_HEADER = "x-weightline-key"
VERSION_HEADER = "X-Weightline-Version"
ROLE_HEADER = "X-Weightline-Role"
INLINE_ROWS = 64  # larger batches are predicted in a worker thread, off the event loop
JSON = "application/json"


def _json(payload: dict[str, Any], served: Served, role: str, status: int = 200) -> Response:
    return Response(
        json.dumps(payload, separators=(",", ":"), allow_nan=False, default=str),
        status_code=status,
        media_type=JSON,
        headers={VERSION_HEADER: served.version, ROLE_HEADER: role},
    )


def create_app(state: ServerState) -> FastAPI:
    """The app for one server; every route reads `state.routing` once, at its start."""
    app = FastAPI(
        title="weightline model server",
        description="Predictions from the exact version that holds a stage, labelled by version.",
        version="1",
    )

    @app.post("/predict", summary="Predict for JSON records or columns")
    async def predict(request: Request) -> Response:
        start = time.perf_counter()
        key = request.headers.get(KEY_HEADER) or request.query_params.get("key")
        served, role = state.routing.choose(key)
        body = await request.body()
        try:
            batch = served.schema.parse(body)
            if batch.rows <= INLINE_ROWS:
                rows = served.predict(batch)
            else:
                rows = await run_in_threadpool(served.predict, batch)
            response = _json(
                {"version": served.version, "role": role, "predictions": rows}, served, role
            )
        except InvalidInput as error:
            seconds = time.perf_counter() - start
            state.metrics.refused(served.version, role, seconds, "invalid_input")
            if state.predictions is not None:
                digest = hashlib.sha256(body).hexdigest()
                state.predictions.prediction(
                    served.version, role, digest, seconds, 422, error=str(error)
                )
            return _json(
                {"version": served.version, "detail": error.details, "message": str(error)},
                served,
                role,
                422,
            )
        except Exception as error:
            seconds = time.perf_counter() - start
            log.exception("%s failed to predict", served.tag)
            state.metrics.refused(served.version, role, seconds, "model_error")
            message = f"{served.tag} failed to predict: {type(error).__name__}: {error}"
            if state.predictions is not None:
                digest = hashlib.sha256(body).hexdigest()
                state.predictions.prediction(
                    served.version, role, digest, seconds, 500, error=message
                )
            return _json({"version": served.version, "message": message}, served, role, 500)
        seconds = time.perf_counter() - start
        state.metrics.answered(served.version, role, seconds, rows)
        if state.predictions is not None:
            state.predictions.prediction(served.version, role, batch.digest, seconds, 200, rows)
        return response

    @app.get("/version", summary="The exact version serving, how it got there, any refusal")
    async def version() -> Response:
        routing = state.routing
        follower = state.follower
        canary = routing.canary
        body: dict[str, Any] = {
            **routing.primary.describe(),
            "canary": None if canary is None else {**canary.describe(), "share": routing.share},
            "following": follower.describe() if follower else None,
            "last_refused": follower.last_refused if follower else None,
            "swaps": list(follower.swaps) if follower else [],
        }
        return _json(body, routing.primary, "primary")

    @app.get("/healthz", summary="Liveness: a verified version is loaded and answering")
    async def healthz() -> Response:
        routing = state.routing
        follower = state.follower
        body = {
            "status": "ok",
            "version": routing.primary.version,
            "canary": routing.canary.version if routing.canary else None,
            "following_error": follower.last_error if follower else None,
        }
        return _json(body, routing.primary, "primary")

    @app.get("/metrics", summary="Prometheus metrics, labelled by version")
    async def metrics() -> Response:
        from weightline.serve.metrics import CONTENT_TYPE

        return Response(
            state.metrics.exposition(),
            media_type=CONTENT_TYPE,
            headers={VERSION_HEADER: state.routing.primary.version, ROLE_HEADER: "primary"},
        )

    @app.post("/admin/check", summary="Check the followed stage now (retries refused versions)")
    async def check() -> Response:
        follower = state.follower
        outcome = (
            await run_in_threadpool(follower.check, True)
            if follower is not None
            else {"primary": "fixed"}
        )
        routing = state.routing
        return _json(
            {"version": routing.primary.version, "outcome": outcome},
            routing.primary,
            "primary",
        )

    def openapi() -> dict[str, Any]:
        """The generated description, with /predict's body from the serving version's
        signature (rebuilt on each call: a swap may change it)."""
        from fastapi.openapi.utils import get_openapi

        schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
        schema["info"]["description"] = f"Serving {state.routing.primary.tag}. " + (
            app.description or ""
        )
        operation = schema["paths"]["/predict"]["post"]
        operation["requestBody"] = {
            "required": True,
            "content": {JSON: {"schema": state.routing.primary.schema.json_schema()}},
        }
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
