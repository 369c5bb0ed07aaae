"""A real package index on 127.0.0.1 that serves the weightline wheel built from this repository.

Generated projects depend on `weightline~=X.Y` exactly as a PyPI user's would. Until a release is
on PyPI (and to test the one in this checkout), `make demo` and the tests build the wheel and serve
it with pypiserver, which redirects every other package to the public index: the same path a
company with an internal index takes (`PIP_INDEX_URL=<its URL> make setup`).
"""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
PUBLIC_INDEX = "https://pypi.org/simple/"


def build_wheel(out: Path) -> Path:
    """`python -m build --wheel` of this repository into `out`; the wheel's path."""
    out.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), "."],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"building the weightline wheel failed:\n{done.stdout}{done.stderr}")
    (wheel,) = sorted(out.glob("weightline-*.whl"), key=os.path.getmtime)[-1:]
    return wheel


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def fallback_index() -> str:
    """Where pip would look without us: PIP_INDEX_URL, pip's configured index, or PyPI."""
    if os.environ.get("PIP_INDEX_URL"):
        return os.environ["PIP_INDEX_URL"]
    done = subprocess.run(
        [sys.executable, "-m", "pip", "config", "get", "global.index-url"],
        capture_output=True,
        text=True,
    )
    return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else PUBLIC_INDEX


@contextmanager
def serving(packages: Path) -> Iterator[str]:
    """pypiserver over `packages` on 127.0.0.1; yields its simple-index URL."""
    port = free_port()
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "pypi-server"),
            "run",
            "--host", "127.0.0.1",
            "--port", str(port),
            "--fallback-url", fallback_index(),
            "--authenticate", ".",
            "--passwords", ".",
            "--log-stream", "none",
            str(packages),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/simple/"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{url}weightline/", timeout=2):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    error = server.stderr.read().decode() if server.stderr else ""
                    raise RuntimeError(
                        f"pypiserver did not start on port {port}: {error}"
                    ) from None
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)
