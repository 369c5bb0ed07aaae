"""`weightline serve` latency and throughput, against baselines measured in the same run.

Three things answer a single-row prediction request, and the figures are printed side by side:

  model      the bare model call in this process (`model.predict_proba` on one row), and the
             library's `LoadedModel.predict(frame)` (builds and checks a DataFrame)
  constant   a minimal FastAPI endpoint on the same uvicorn that returns a constant: the floor
             any FastAPI server pays (HTTP parsing, routing, JSON)
  serve      `weightline serve` on the same version: signature check, routing, prediction,
             metrics and the prediction log

Both servers run as subprocesses with the same uvicorn settings; the client sends the same
single-row JSON body to each over one keep-alive connection, interleaving rounds so that load
from other processes on the machine hits both alike. Then 4 client threads measure throughput.
Target: p50 overhead of `serve` over `constant` under 1 ms.

    .venv/bin/python benchmarks/serve_latency.py [--project DIR] [--ref v1.0.0] [--rounds 5]

Without --project, a project is baked from this template and trained into a temporary
directory first (about a minute).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

TEMPLATE = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- the servers (run as `serve_latency.py --child KIND PORT PROJECT REF`) ----------------------


def child(kind: str, port: int, project: Path, ref: str) -> None:
    import uvicorn
    from fastapi import FastAPI

    if kind == "constant":
        app = FastAPI()
        answer = {"version": "v0.0.0", "predictions": [{"probability": 0.5}]}

        @app.post("/predict")
        async def constant() -> dict[str, Any]:
            return answer

    else:
        from weightline.serve.server import Options, build

        log = None if kind == "serve-nolog" else Path(tempfile.mkdtemp()) / "predictions.jsonl"
        app, _ = build(Options(ref=ref, root=project, predictions=log, interval=3600))
    uvicorn.run(app, host="127.0.0.1", port=port, access_log=False, log_level="warning")


class Server:
    def __init__(self, kind: str, project: Path, ref: str) -> None:
        self.kind = kind
        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--child", kind, str(self.port), str(project), ref],
            cwd=project,
        )
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if self.process.poll() is not None:
                    sys.exit(f"the {kind} server exited {self.process.returncode}")
                time.sleep(0.2)
        sys.exit(f"the {kind} server never started")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


# --- measuring --------------------------------------------------------------------------------


def latencies(port: int, body: bytes, count: int) -> list[float]:
    """Seconds per request, one keep-alive connection, one request at a time."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "application/json"}
    seen = []
    for _ in range(count):
        start = time.perf_counter()
        connection.request("POST", "/predict", body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        seen.append(time.perf_counter() - start)
        if response.status != 200:
            sys.exit(f"port {port} answered {response.status}")
    connection.close()
    return seen


def throughput(port: int, body: bytes, clients: int, seconds: float) -> float:
    """Requests per second from `clients` threads, each on its own keep-alive connection."""
    done = [0] * clients
    stop = time.monotonic() + seconds

    def run(i: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.monotonic() < stop:
            connection.request("POST", "/predict", body=body)
            connection.getresponse().read()
            done[i] += 1
        connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done) / (time.monotonic() - started)


def in_process(project: Path, ref: str, row: dict[str, float], count: int) -> dict[str, float]:
    """p50 seconds of the bare model call and of LoadedModel.predict for one row."""
    import numpy as np
    import pandas as pd

    from weightline import api

    loaded = api.load_model(ref, project)
    names = [c.name for c in loaded.signature.inputs]
    array = np.array([[row[n] for n in names]])
    frame = pd.DataFrame([row])
    method = getattr(loaded.model, "predict_proba", None) or loaded.model.predict

    def timed(call: Any, n: int) -> float:
        call()
        seen = []
        for _ in range(n):
            start = time.perf_counter()
            call()
            seen.append(time.perf_counter() - start)
        return statistics.median(seen)

    return {
        "model": timed(lambda: method(array), count),
        "library": timed(lambda: loaded.predict(frame), max(50, count // 20)),
    }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# --- a project to serve ------------------------------------------------------------------------


def bake(where: Path) -> Path:
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}

    def run(*args: str, cwd: Path) -> None:
        done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"`{' '.join(args)}` failed:\n{done.stdout}{done.stderr}")

    bin_dir = Path(sys.executable).parent
    run(
        str(bin_dir / "cookiecutter"), "--no-input", str(TEMPLATE), "-o", str(where),
        f"dvc_remote={where / 'remote'}", cwd=where,
    )  # fmt: skip
    project = next(p for p in where.iterdir() if (p / "dvc.yaml").exists())
    env["PYTHONPATH"] = str(project / "src")
    env["PATH"] = os.pathsep.join([str(bin_dir), env["PATH"]])  # the stages' `python`
    run(str(bin_dir / "dvc"), "repro", cwd=project)
    run("git", "add", "--all", cwd=project)
    run("git", "-c", "core.hooksPath=/dev/null", "commit", "-qm", "train", cwd=project)
    run(sys.executable, "-m", "weightline", "register", cwd=project)
    return project


# --- the run -----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, help="a project with a registered version")
    parser.add_argument("--ref", default="v1.0.0", help="the version to serve")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=600, help="per server per round")
    parser.add_argument("--clients", type=int, default=4, help="threads for the throughput run")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, port, project, ref = args.child
        child(kind, int(port), Path(project), ref)
        return

    scratch = tempfile.TemporaryDirectory(prefix="serve-bench-")
    project = (args.project or bake(Path(scratch.name))).resolve()
    sys.path.insert(0, str(project / "src"))
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(project / "src"), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    import pandas as pd

    holdout = project / "data" / "holdout" / "holdout.csv"
    if not holdout.exists():
        holdout = next((project / "data" / "holdout").glob("*.csv"))
    frame = pd.read_csv(holdout)
    row = frame.drop(columns=[c for c in ("target",) if c in frame.columns]).iloc[0].to_dict()
    body = json.dumps([row]).encode()

    print(f"project {project}, version {args.ref}, single-row body of {len(body)} bytes")
    local = in_process(project, args.ref, row, 2000)
    kinds = ("constant", "serve", "serve-nolog")
    servers = {kind: Server(kind, project, args.ref) for kind in kinds}
    seen: dict[str, list[float]] = {kind: [] for kind in kinds}
    rates: dict[str, float] = {}
    try:
        for kind in kinds:
            latencies(servers[kind].port, body, 300)  # warm up
        for _ in range(args.rounds):
            for kind in kinds:
                seen[kind] += latencies(servers[kind].port, body, args.requests)
        for kind in kinds:
            rates[kind] = throughput(servers[kind].port, body, args.clients, 5.0)
    finally:
        for server in servers.values():
            server.stop()
        scratch.cleanup()

    p50 = {kind: percentile(v, 0.5) for kind, v in seen.items()}
    p99 = {kind: percentile(v, 0.99) for kind, v in seen.items()}
    print(f"\nsingle-row latency over {args.rounds} x {args.requests} sequential requests each")
    print(f"{'':34} {'p50 ms':>8} {'p99 ms':>8} {'req/s (1)':>10} {f'req/s ({args.clients})':>10}")
    print(f"{'model.predict_proba, in process':34} {local['model'] * 1e3:8.3f}")
    print(f"{'LoadedModel.predict, in process':34} {local['library'] * 1e3:8.3f}")
    labels = {
        "constant": "FastAPI constant endpoint",
        "serve": "weightline serve",
        "serve-nolog": "weightline serve --no-log",
    }
    for kind in kinds:
        print(
            f"{labels[kind]:34} {p50[kind] * 1e3:8.3f} {p99[kind] * 1e3:8.3f} "
            f"{1 / statistics.mean(seen[kind]):10.0f} {rates[kind]:10.0f}"
        )
    overhead = (p50["serve"] - p50["constant"]) * 1e3
    print(
        f"\nserve / constant: p50 x{p50['serve'] / p50['constant']:.2f}, "
        f"p99 x{p99['serve'] / p99['constant']:.2f}, "
        f"throughput x{rates['serve'] / rates['constant']:.2f}"
    )
    print(
        f"p50 overhead of serve over the bare endpoint: {overhead:.3f} ms "
        f"(target < 1 ms: {'met' if overhead < 1 else 'NOT met'}); "
        f"of which the model call is {local['model'] * 1e3:.3f} ms"
    )
    print(
        f"without the prediction log: {(p50['serve-nolog'] - p50['constant']) * 1e3:.3f} ms; "
        f"LoadedModel.predict alone would cost {local['library'] * 1e3:.3f} ms per request"
    )


if __name__ == "__main__":
    main()
