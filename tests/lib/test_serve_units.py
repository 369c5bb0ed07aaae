"""Serving's parts without a bake: payload checks, routing, following and swapping, metrics read
back, the prediction log and the timeline. The registry is a stand-in (`FakeRegistry`); the
models are small NumPy functions behind the same interface `api.load_model` returns. One test
runs the real app under uvicorn on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from weightline.domain.signature import Signature
from weightline.errors import WeightlineError
from weightline.ops.loading import LoadedModel
from weightline.serve import predlog, scrape, timeline
from weightline.serve.follow import Follower, Target
from weightline.serve.metrics import ServeMetrics
from weightline.serve.payload import InputSchema, InvalidInput
from weightline.serve.routing import Routing, bucket, parse_canary
from weightline.serve.state import ServerState

FEATURES = ["a", "b", "c"]
SIGNATURE = Signature.infer(
    pd.DataFrame({name: [0.5, 1.5] for name in FEATURES}), outputs={"probability": "float64"}
)


class FakeModel:
    def __init__(self, weight: float) -> None:
        self.weight = weight

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-features.sum(axis=1) * self.weight))


def fake_loaded(version: str, weight: float) -> LoadedModel:
    """The library's own LoadedModel (so its predict is the real one) around a FakeModel."""
    return LoadedModel(
        SimpleNamespace(commit=f"{version}-commit", name=f"model@{version}"),  # type: ignore[arg-type]
        {"weights": {"sha256": f"sha-{version}"}},
        SIGNATURE,
        Path("unused.safetensors"),
        FakeModel(weight),
    )


class FakeRegistry:
    artifact = "model"
    remote = None

    def __init__(self) -> None:
        self.stages = {"production": "v1.0.0", "staging": "v1.1.0"}
        self.broken: dict[str, str] = {}
        self.loads: list[str] = []

    def refresh(self) -> None:
        pass

    def holders(self) -> dict[str, str]:
        return dict(self.stages)

    def resolve(self, ref: str) -> tuple[str, str]:
        version = self.stages.get(ref, ref)
        return version, f"{version}-commit"

    def load(self, version: str) -> LoadedModel:
        self.loads.append(version)
        if version in self.broken:
            raise WeightlineError(self.broken[version])
        return fake_loaded(version, weight=float(version.split(".")[1]) + 1)

    def stage_event(self, stage: str, version: str) -> dict[str, Any] | None:
        return {"tag": f"model#{stage}#9", "stage": stage, "by": "Alice", "gate": None}


def started(registry: FakeRegistry, ref: str = "production", canary: str | None = None,
            share: float = 0.0) -> Follower:  # fmt: skip
    follower = Follower(
        registry, Target.of(ref), Target.of(canary) if canary else None, share, retry_after=60
    )
    follower.attach(ServerState(follower.initial(), ServeMetrics()))
    return follower


def routing(follower: Follower) -> Routing:
    assert follower.state is not None
    return follower.state.routing


# --- payload ---------------------------------------------------------------------------------


def test_records_and_columns_give_the_same_rows() -> None:
    schema = InputSchema(SIGNATURE, "model@v1.0.0")
    records = schema.parse(
        json.dumps([{"a": 1, "b": 2.5, "c": -1}, {"a": 0, "b": 0, "c": 0}]).encode()
    )
    columns = schema.parse(b'{"c": [-1, 0], "b": [2.5, 0], "a": [1, 0]}')
    assert (
        records.columns == columns.columns == {"a": [1.0, 0.0], "b": [2.5, 0.0], "c": [-1.0, 0.0]}
    )
    assert records.rows == columns.rows == 2
    assert records.digest != columns.digest  # the digest is of the body as sent


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b'[{"a": 1, "b": 2}]', "missing features: c"),
        (b'[{"a": 1, "b": 2, "c": 3, "zz": 4}]', "extra features: zz"),
        (b'[{"a": 1, "b": "2", "c": 3}]', "wrong types: b"),
        (b'[{"a": 1, "b": true, "c": 3}]', "wrong types: b"),
        (b'[{"a": NaN, "b": 1, "c": 3}]', "not finite (NaN, Infinity or out of range): a"),
        (b'[{"a": 1e400, "b": 1, "c": 3}]', "not finite (NaN, Infinity or out of range): a"),
        (b'{"a": [1, 2], "b": [1], "c": [1, 2]}', "columns of different lengths"),
        (b'"a"', "JSON records"),
        (b"[]", "List should have at least 1 item"),
        (b"[{", "Invalid JSON"),
    ],
)
def test_a_body_that_does_not_match_is_refused_naming_the_feature(body: bytes, says: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        InputSchema(SIGNATURE, "model@v1.0.0").parse(body)
    assert says in str(refused.value)
    assert "model@v1.0.0" in str(refused.value)
    assert refused.value.details


def test_one_missing_feature_in_many_rows_is_one_detail_with_a_count() -> None:
    body = json.dumps([{"a": 1, "b": 2}] * 500).encode()
    with pytest.raises(InvalidInput) as refused:
        InputSchema(SIGNATURE, "x").parse(body)
    assert [(d["feature"], d["count"]) for d in refused.value.details] == [("c", 500)]


# --- routing ---------------------------------------------------------------------------------


def test_canary_arguments() -> None:
    assert parse_canary("v1.3.0=10%") == ("v1.3.0", 0.1)
    assert parse_canary(" staging = 2.5% ") == ("staging", 0.025)
    for bad in ("v1.3.0", "v1.3.0=10", "v1.3.0=0%", "v1.3.0=100%", "=5%", "v1=abc%"):
        with pytest.raises(WeightlineError, match="--canary"):
            parse_canary(bad)


def test_keys_land_stably_and_in_proportion() -> None:
    keys = [f"user-{i}" for i in range(20_000)]
    assert [bucket(k) for k in keys[:50]] == [bucket(k) for k in keys[:50]]
    share = sum(bucket(k) < 0.1 for k in keys) / len(keys)
    assert 0.09 < share < 0.11
    follower = started(FakeRegistry(), canary="v1.1.0", share=0.1)
    chosen = {k: routing(follower).choose(k)[0].version for k in keys[:2000]}
    assert chosen == {k: routing(follower).choose(k)[0].version for k in keys[:2000]}
    assert set(chosen.values()) == {"v1.0.0", "v1.1.0"}


# --- following -------------------------------------------------------------------------------


def test_a_promotion_and_a_rollback_swap_the_whole_version() -> None:
    registry = FakeRegistry()
    follower = started(registry)
    first = routing(follower)
    assert first.primary.version == "v1.0.0" and first.primary.array_path
    assert follower.check() == {"primary": "unchanged"}
    assert routing(follower) is first

    registry.stages["production"] = "v1.1.0"
    assert follower.check() == {"primary": "swapped to v1.1.0"}
    assert routing(follower).primary.version == "v1.1.0"
    assert first.primary.version == "v1.0.0", "the old routing is untouched for requests in flight"

    registry.stages["production"] = "v1.0.0"
    follower.check()
    assert routing(follower).primary.version == "v1.0.0"
    assert [(s["from"], s["to"]) for s in follower.swaps] == [
        (None, "v1.0.0"),
        ("v1.0.0", "v1.1.0"),
        ("v1.1.0", "v1.0.0"),
    ]
    assert all(s["t_before"] <= s["t_after"] for s in follower.swaps)


def test_a_version_that_fails_to_load_is_refused_and_the_old_one_serves() -> None:
    registry = FakeRegistry()
    follower = started(registry)
    registry.broken["v1.2.0"] = "the remote's copy of model@v1.2.0 is corrupt: SHA-256 ..."
    registry.stages["production"] = "v1.2.0"
    assert follower.check() == {"primary": "refused v1.2.0"}
    assert routing(follower).primary.version == "v1.0.0"
    assert follower.last_refused is not None
    assert follower.last_refused["version"] == "v1.2.0"
    assert "corrupt" in follower.last_refused["reason"]
    assert follower.last_refused["kept"] == "v1.0.0"

    loads = len(registry.loads)
    assert follower.check()["primary"].startswith("refused v1.2.0 (not retried until")
    assert len(registry.loads) == loads, "a refused version is not fetched again every poll"
    del registry.broken["v1.2.0"]
    assert follower.check(force=True) == {"primary": "swapped to v1.2.0"}


def test_a_version_whose_warm_up_fails_is_refused() -> None:
    registry = FakeRegistry()
    follower = started(registry)
    original = registry.load

    def nan_model(version: str) -> LoadedModel:
        loaded = original(version)
        loaded.model.predict_proba = lambda x: np.full(len(x), np.nan)  # type: ignore[method-assign]
        return loaded

    registry.load = nan_model  # type: ignore[method-assign]
    registry.stages["production"] = "v1.3.0"
    assert follower.check() == {"primary": "refused v1.3.0"}
    assert "warm-up" in (follower.last_refused or {})["reason"]
    assert routing(follower).primary.version == "v1.0.0"


def test_an_unheld_stage_keeps_the_primary_and_stops_the_canary() -> None:
    registry = FakeRegistry()
    follower = started(registry, canary="staging", share=0.2)
    assert routing(follower).canary is not None
    del registry.stages["production"], registry.stages["staging"]
    assert follower.check() == {"primary": "unheld", "canary": "unheld"}
    assert routing(follower).primary.version == "v1.0.0"
    assert routing(follower).canary is None


# --- metrics read back -----------------------------------------------------------------------


def test_metrics_read_back_compare_the_canary_with_the_primary() -> None:
    metrics = ServeMetrics()
    metrics.serving("v1.0.0", "primary", "sha-a", True)
    metrics.serving("v1.1.0", "canary", "sha-b", True)
    for _ in range(90):
        metrics.answered("v1.0.0", "primary", 0.001, [{"probability": 0.2}])
    for _ in range(9):
        metrics.answered("v1.1.0", "canary", 0.002, [{"probability": 0.8, "label": "yes"}])
    metrics.refused("v1.1.0", "canary", 0.001, "model_error")
    result = scrape.compare(scrape.parse([metrics.exposition().decode()]))
    assert result["primary"] == "v1.0.0"
    figures = {v["version"]: v for v in result["versions"]}
    assert figures["v1.0.0"]["requests"] == 90 and figures["v1.0.0"]["error_rate"] == 0
    assert figures["v1.1.0"]["requests"] == 10 and figures["v1.1.0"]["error_rate"] == 0.1
    assert figures["v1.1.0"]["labels"] == {"label": {"yes": 1.0}}
    assert figures["v1.0.0"]["outputs"]["probability"]["mean"] == pytest.approx(0.2)
    [comparison] = result["comparisons"]
    assert comparison["candidate"] == "v1.1.0" and comparison["error_rate_change"] == 0.1
    assert comparison["outputs"]["probability"]["mean_change"] == pytest.approx(0.6)
    assert comparison["outputs"]["probability"]["psi"] > 1
    assert "v1.1.0 against v1.0.0" in scrape.table({"urls": [], **result})


# --- the prediction log and the timeline -----------------------------------------------------


def test_the_timeline_merges_stage_events_swaps_and_served_buckets(tmp_path: Path) -> None:
    log = predlog.PredictionLog(tmp_path / "p.jsonl")
    log.event("swap", role="primary", to="v1.0.0", **{"from": None})
    log.prediction("v1.0.0", "primary", "d1", 0.001, 200, [{"probability": 0.25}])
    log.prediction("v1.0.0", "primary", "d2", 0.003, 422, error="missing features: c")
    log.close()
    with (tmp_path / "p.jsonl").open("a") as handle:
        handle.write('{"torn": \n')
    hostile = "<script>alert('v9 approved')</script>"
    history = [
        {
            "stage": "production",
            "assigned": 1,
            "action": "promote",
            "version": "v1.0.0",
            "tag": "model#production#1",
            "at_epoch": time.time() - 60,
            "by": hostile,
            "reason": hostile,
            "gate": json.dumps({"verdict": "pass"}),
        }
    ]
    built = timeline.build(history, predlog.read([tmp_path / "p.jsonl"]), bucket=3600)
    kinds = [e["kind"] for e in built["entries"]]
    assert kinds == ["stage", "swap", "served"]
    served = built["entries"][2]
    assert served["requests"] == 2 and served["errors"] == 1
    assert served["output_means"] == {"probability": 0.25}
    assert "gate pass" in timeline.text(built)
    page = timeline.to_html(built)
    assert "<script>" not in page and "&lt;script&gt;" in page


# --- the real app, under uvicorn ---------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def post(url: str, body: bytes) -> tuple[int, dict[str, str], dict[str, Any]]:
    request = urllib.request.Request(url, data=body, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


def test_the_app_answers_labels_refuses_and_swaps_over_http(tmp_path: Path) -> None:
    import uvicorn

    from weightline.serve.app import create_app

    registry = FakeRegistry()
    follower = Follower(registry, Target.of("production"), interval=3600)
    state = ServerState(
        follower.initial(), ServeMetrics(), predlog.PredictionLog(tmp_path / "log.jsonl"), follower
    )
    follower.attach(state)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(state), host="127.0.0.1", port=port, log_config=None)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            if server.started:
                break
            time.sleep(0.05)
        status, headers, body = post(f"{base}/predict", b'[{"a": 1, "b": 2, "c": 3}]')
        assert status == 200 and headers["x-weightline-version"] == body["version"] == "v1.0.0"
        [answer] = body["predictions"]  # the first releases' form, or label + probabilities
        positive = answer.get("probability_1", answer.get("probability"))
        assert positive == pytest.approx(1 / (1 + np.exp(-6)))
        status, headers, body = post(f"{base}/predict", b'[{"a": 1, "b": 2}]')
        assert (
            status == 422
            and body["version"] == "v1.0.0"
            and "missing features: c" in body["message"]
        )

        registry.stages["production"] = "v1.1.0"
        status, _, body = post(f"{base}/admin/check", b"")
        assert status == 200 and body["outcome"] == {"primary": "swapped to v1.1.0"}
        status, headers, body = post(f"{base}/predict", b'{"a": [1], "b": [2], "c": [3]}')
        assert headers["x-weightline-version"] == body["version"] == "v1.1.0"

        with urllib.request.urlopen(f"{base}/version") as response:
            described = json.loads(response.read())
        assert described["version"] == "v1.1.0" and described["weights_sha256"] == "sha-v1.1.0"
        assert described["stage_event"]["tag"] == "model#production#9"
        with urllib.request.urlopen(f"{base}/openapi.json") as response:
            spec = json.loads(response.read())
        body_schema = spec["paths"]["/predict"]["post"]["requestBody"]["content"][
            "application/json"
        ]
        assert body_schema["schema"]["oneOf"][0]["items"]["required"] == FEATURES
        with urllib.request.urlopen(f"{base}/metrics") as response:
            text = response.read().decode()
        assert 'weightline_requests_total{role="primary",version="v1.1.0"} 1.0' in text
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    records = list(predlog.read([tmp_path / "log.jsonl"]))
    assert [r.get("version") or r.get("to") for r in records] == [
        "v1.0.0",
        "v1.0.0",
        "v1.0.0",
        "v1.1.0",
        "v1.1.0",
    ]
