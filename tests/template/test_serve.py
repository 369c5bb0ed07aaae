"""`weightline serve` for real: a baked project's versions served over HTTP on 127.0.0.1.

The server runs as its own process (as a deployment runs it) against a real project with two
trained versions; the tests talk HTTP to it while promotions, rollbacks and corruption happen
through the real CLI, git and the DVC remote. Nothing here asserts on time.
"""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from .project import Project, weightline
from .story import add_origin, retrain, version_summary

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("serve")]

WAIT = 180  # seconds any one condition may take on a loaded 2-core machine before we give up


@pytest.fixture(scope="session")
def two_versions(trained_session: Project, tmp_path_factory: pytest.TempPathFactory) -> Project:
    """v1.0.0 in production (gated), v1.1.0 (C=0.5) trained, pushed and in staging.

    Session-scoped: xdist may run this module's tests apart, which would rebuild it.
    """
    where = tmp_path_factory.mktemp("serve")
    project = trained_session.copy(where / "project")
    add_origin(project, where)
    weightline(project, "push")
    retrain(project, 0.5, "Train with C=0.5")
    weightline(project, "promote", "v1.0.0", "--to", "staging")
    weightline(project, "promote", "v1.0.0", "--to", "production")
    weightline(project, "promote", "v1.1.0", "--to", "staging")
    return project


@pytest.fixture
def project(two_versions: Project, tmp_path: Path) -> Project:
    return two_versions.copy(tmp_path / "project")


# --- a server process and a client ------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: dict[str, Any]
    started: float = 0.0
    ended: float = 0.0

    @property
    def version(self) -> str:
        return self.headers["x-weightline-version"]


class Client:
    """One keep-alive HTTP connection (one per thread)."""

    def __init__(self, port: int) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> Answer:
        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        started = time.time()
        self.connection.request(method, path, body=data, headers=headers or {})
        response = self.connection.getresponse()
        raw = response.read()
        ended = time.time()
        content = (
            json.loads(raw)
            if response.getheader("content-type") == "application/json"
            else {"text": raw.decode()}
        )
        headers = {k.lower(): v for k, v in response.getheaders()}
        return Answer(response.status, headers, content, started, ended)

    def close(self) -> None:
        self.connection.close()


@dataclass
class Server:
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def request(self, method: str, path: str, body: Any = None, headers: Any = None) -> Answer:
        """On a connection of its own: an idle keep-alive connection is closed by the server
        after 5 seconds, and a request may race that close."""
        client = Client(self.port)
        try:
            return client.request(method, path, body, headers)
        finally:
            client.close()

    def get(self, path: str) -> Answer:
        return self.request("GET", path)

    def post(self, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Answer:
        return self.request("POST", path, body, headers)

    def until(self, what: str, condition: Any) -> None:
        """Poll /version until `condition(body)` holds."""
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            if condition(self.get("/version").body):
                return
            time.sleep(0.1)
        pytest.fail(f"{what} never happened; server log:\n{self.log.read_text()}")


def serving_command(*args: str) -> list[str]:
    """`weightline serve ...`, `weightline timeline ...` (as the git hooks run it)."""
    return [sys.executable, "-m", "weightline", *args]


@contextmanager
def serving(project: Project, *args: str) -> Iterator[Server]:
    port = free_port()
    log = project.path.parent / f"server-{port}.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            serving_command("serve", *args, "--port", str(port)),
            cwd=project.path,
            env=project.env(),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    server = Server(port, process, log)
    try:
        deadline = time.monotonic() + WAIT
        while True:
            if process.poll() is not None:
                pytest.fail(f"the server exited {process.returncode}:\n{log.read_text()}")
            try:
                if server.get("/healthz").status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the server never answered /healthz:\n{log.read_text()}")
            time.sleep(0.2)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def holdout_rows(project: Project, count: int) -> pd.DataFrame:
    """The first rows of the hold-out set, with the signature's input columns only."""
    signature = json.loads((project.path / "models/signature.json").read_text())
    features = [column["name"] for column in signature["inputs"]]
    [holdout] = sorted((project.path / "data/holdout").glob("*.csv"))
    return pd.read_csv(holdout)[features].head(count)


# --- tests -------------------------------------------------------------------------------------


def test_serves_production_exactly_as_predict_and_refuses_bad_features(project: Project) -> None:
    rows = holdout_rows(project, 25)
    rows.to_csv(project.path.parent / "rows.csv", index=False)
    predicted = project.path.parent / "predicted.csv"
    weightline(project, "predict", "v1.0.0", "--input", str(project.path.parent / "rows.csv"),
               "--output", str(predicted))  # fmt: skip
    expected = pd.read_csv(predicted)
    with serving(project, "production", "--local", "--interval", "3600") as server:
        for body in (rows.to_dict("records"), rows.to_dict("list")):
            answer = server.post("/predict", body)
            assert answer.status == 200, answer.body
            assert answer.version == answer.body["version"] == "v1.0.0"
            served = pd.DataFrame(answer.body["predictions"])
            assert list(served.columns) == list(expected.columns)
            for column in expected.columns:
                assert served[column].tolist() == pytest.approx(
                    expected[column].tolist(), rel=1e-12
                )

        version = server.get("/version").body
        assert version["version"] == "v1.0.0" and version["tag"] == "model@v1.0.0"
        summary = version_summary(project, "model@v1.0.0")
        assert version["weights_sha256"] == summary["weights_sha256"]
        event = version["stage_event"]
        assert event["stage"] == "production" and event["tag"].startswith("model#production#")
        assert "Test Runner" in event["by"] and event["gate"]["verdict"] == "pass"
        assert version["last_refused"] is None

        row = rows.iloc[0].to_dict()
        features = list(row)
        first, second, last = features[0], features[1], features[-1]
        cases = {
            f"missing features: {first}": [{k: v for k, v in row.items() if k != first}],
            "extra features: colour": [{**row, "colour": 1.0}],
            f"wrong types: {second}": [{**row, second: "large"}],
        }
        for says, body in cases.items():
            answer = server.post("/predict", body)
            assert answer.status == 422, answer.body
            assert says in answer.body["message"] and answer.body["version"] == "v1.0.0"
        names = ",".join(f'"{k}": {v!r}' for k, v in row.items() if k != last)
        for literal in ("NaN", "Infinity", "1e400"):
            answer = server.post("/predict", f'[{{{names}, "{last}": {literal}}}]'.encode())
            assert answer.status == 422 and "not finite" in answer.body["message"]
            assert last in answer.body["message"]

        assert server.get("/healthz").body["version"] == "v1.0.0"
        metrics = server.get("/metrics").body["text"]
        assert 'weightline_requests_total{role="primary",version="v1.0.0"} 8.0' in metrics
        assert 'kind="invalid_input",role="primary",version="v1.0.0"} 6.0' in metrics


def test_promotion_and_rollback_under_load_fail_no_request(project: Project) -> None:
    """8 clients keep asking while production moves to v1.1.0 and back: every request is
    answered, by a version the server was serving during that request, and the server only
    ever served what held production."""
    row = holdout_rows(project, 1).to_dict("records")
    answers: list[Answer] = []
    failures: list[str] = []
    stop = threading.Event()
    lock = threading.Lock()

    with serving(project, "production", "--local", "--interval", "0.2") as server:

        def client() -> None:
            connection = Client(server.port)
            try:
                while not stop.is_set():
                    answer = connection.request("POST", "/predict", row)
                    with lock:
                        answers.append(answer)
                    time.sleep(0.01)
            except Exception as error:  # any failure at all counts
                failures.append(f"{type(error).__name__}: {error}")
            finally:
                connection.close()

        def wait_for(count: int) -> None:
            deadline = time.monotonic() + WAIT
            while len(answers) < count and not failures and time.monotonic() < deadline:
                time.sleep(0.05)

        threads = [threading.Thread(target=client) for _ in range(8)]
        for thread in threads:
            thread.start()
        try:
            wait_for(300)
            weightline(project, "promote", "v1.1.0", "--to", "production")
            server.until("the swap to v1.1.0", lambda v: v["version"] == "v1.1.0")
            wait_for(len(answers) + 300)
            weightline(project, "rollback", "production")
            server.until("the swap back to v1.0.0", lambda v: v["version"] == "v1.0.0")
            wait_for(max(2000, len(answers) + 300))
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=60)
        described = server.get("/version").body

    assert not failures, failures[:5]
    assert len(answers) >= 2000
    assert [a.status for a in answers if a.status != 200] == []
    assert all(a.version == a.body["version"] for a in answers)
    assert {a.version for a in answers} == {"v1.0.0", "v1.1.0"}

    swaps = described["swaps"]
    assert [(s["from"], s["to"]) for s in swaps] == [
        (None, "v1.0.0"),
        ("v1.0.0", "v1.1.0"),
        ("v1.1.0", "v1.0.0"),
    ]
    from weightline import api

    history = {e["tag"]: e for e in api.stage_history(project.path)}
    for swap in swaps:  # each swap went to the version that production tag gave it
        event = history[swap["stage_tag"]]
        assert event["stage"] == "production" and event["version"] == swap["to"]
    # The server served each version from one swap to the next; every answer came from the
    # version being served at some moment between its request's start and end.
    served = [
        (s["to"], s["t_before"], swaps[i + 1]["t_after"] if i + 1 < len(swaps) else float("inf"))
        for i, s in enumerate(swaps)
    ]
    for answer in answers:
        assert any(
            version == answer.version and start <= answer.ended and answer.started <= end
            for version, start, end in served
        ), (answer.version, answer.started, answer.ended, served)

    # The timeline lines the stage events up with what was served.
    timeline = json.loads(
        project.run(*serving_command("timeline", "--json", "--bucket", "1d")).stdout
    )
    entries = timeline["entries"]
    swapped = [e["version"] for e in entries if e["kind"] == "swap"]
    assert swapped == ["v1.0.0", "v1.1.0", "v1.0.0"]
    production = [
        (e["version"], e["action"], e["assigned"])
        for e in entries
        if e["kind"] == "stage" and e["stage"] == "production"
    ]  # stage tags have 1-second times, so they are not ordered against the swaps
    assert production[-3:] == [
        ("v1.1.0", "promote", True),
        ("v1.1.0", "rollback", False),
        ("v1.0.0", "rollback", True),
    ]
    served_counts = {e["version"]: e["requests"] for e in entries if e["kind"] == "served"}
    assert sum(served_counts.values()) == len(answers)
    assert served_counts == {v: sum(a.version == v for a in answers) for v in ("v1.0.0", "v1.1.0")}


def flip_byte(path: Path) -> None:
    path.chmod(0o644)
    data = bytearray(path.read_bytes())
    data[-100] ^= 0xFF
    path.write_bytes(bytes(data))


def test_a_corrupt_new_version_is_refused_and_the_old_one_keeps_serving(
    project: Project, tmp_path: Path
) -> None:
    """A deployment clone follows the team's tags on the git remote; the new production
    version's weights are corrupt on the DVC remote: refused, named, and v1.0.0 serves on."""
    project.git("push", "--quiet", "origin", "--tags")
    origin = project.git("remote", "get-url", "origin")
    deploy = Project(tmp_path / "deploy", project.context)
    subprocess.run(["git", "clone", "--quiet", origin, str(deploy.path)], check=True)
    deploy.dvc("remote", "modify", "--local", "storage", "url", project.context["dvc_remote"])
    row = holdout_rows(project, 1).to_dict("records")

    with serving(deploy, "production", "--remote", "origin", "--interval", "3600") as server:
        assert server.get("/version").body["version"] == "v1.0.0"
        weightline(project, "promote", "v1.1.0", "--to", "production")
        project.git("push", "--quiet", "origin", "--tags")
        summary = version_summary(project, "model@v1.1.0")
        md5 = summary["weights_md5"]
        remote_object = Path(project.context["dvc_remote"]) / f"files/md5/{md5[:2]}/{md5[2:]}"
        flip_byte(remote_object)

        checked = server.post("/admin/check").body
        assert checked["outcome"] == {"primary": "refused v1.1.0"}
        version = server.get("/version").body
        assert version["version"] == "v1.0.0"
        refused = version["last_refused"]
        assert refused["version"] == "v1.1.0" and refused["kept"] == "v1.0.0"
        assert "corrupt" in refused["reason"] and summary["weights_sha256"] in refused["reason"]
        answer = server.post("/predict", row)
        assert answer.status == 200 and answer.version == "v1.0.0"
        assert "refused model@v1.1.0" in server.log.read_text()

        flip_byte(remote_object)  # repaired: an explicit check tries again at once
        assert server.post("/admin/check").body["outcome"] == {"primary": "swapped to v1.1.0"}
        assert server.post("/predict", row).version == "v1.1.0"


def test_a_ten_percent_canary_by_key(project: Project) -> None:
    row = holdout_rows(project, 1).to_dict("records")
    keys = [f"user-{i}" for i in range(1000)]
    seen: dict[str, set[str]] = {key: set() for key in keys}
    roles: set[tuple[str, str]] = set()
    lock = threading.Lock()

    with serving(
        project, "production", "--local", "--interval", "3600", "--canary", "v1.1.0=10%"
    ) as server:

        def client(part: list[str]) -> None:
            connection = Client(server.port)
            try:
                for key in part:
                    answer = connection.request("POST", "/predict", row, {"X-Weightline-Key": key})
                    assert answer.status == 200, answer.body
                    with lock:
                        seen[key].add(answer.version)
                        roles.add((answer.version, answer.headers["x-weightline-role"]))
            finally:
                connection.close()

        parts = [keys[i::4] * 2 for i in range(4)]  # every key asks twice
        threads = [threading.Thread(target=client, args=(part,)) for part in parts]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        report = json.loads(
            project.run(
                *serving_command(
                    "canary-report", "--json", "--url", f"http://127.0.0.1:{server.port}"
                )
            ).stdout
        )

    assert all(len(versions) == 1 for versions in seen.values()), "a key changed version"
    canary_keys = sum(versions == {"v1.1.0"} for versions in seen.values())
    assert 0.07 <= canary_keys / len(keys) <= 0.13
    assert roles == {("v1.0.0", "primary"), ("v1.1.0", "canary")}
    figures = {v["version"]: v for v in report["versions"]}
    assert figures["v1.1.0"]["requests"] == 2 * canary_keys
    assert figures["v1.0.0"]["requests"] + figures["v1.1.0"]["requests"] == 2000
    assert report["primary"] == "v1.0.0"
    [comparison] = report["comparisons"]
    assert comparison["candidate"] == "v1.1.0" and comparison["error_rate_change"] == 0
    assert comparison["outputs"]["probability_1"]["psi"] is not None
