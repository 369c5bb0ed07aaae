"""The report escapes every value that came from a file or git, numbers included: hostile
metrics, configs, names and messages, rendered by headless Chromium, show up as the text they
are, and nothing in them becomes markup.

Chromium is driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`), to read
what a reader sees: `document.body.innerText`, which leaves out anything hidden by CSS.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

from weightline import api

from ..browser import FLAGS, chromium
from ..browser import profile as browser_profile
from .microproject import Micro

HOSTILE = {
    "metric": "<style>body{display:none}</style>INJECTED: v9 approved for production",
    "number": '0.99"><img src=x onerror=alert(1)>',
    "config": "</td></tr></table><marquee>config</marquee>",
    "reason": "<script>document.title='pwned'</script>reason",
    "author": "Mallory &lt;u&gt; &amp; Co",  # git drops < and > from names; entities stay
    "stage": "<h1 id=x>promoted by nobody</h1>",
}


class Browser:
    """Headless Chromium, spoken to over a pipe: send a command, wait for its answer."""

    def __init__(self, profile: Path) -> None:
        to_chrome, self.commands = os.pipe()
        self.answers, from_chrome = os.pipe()

        def fds() -> None:  # Chromium reads commands on fd 3 and answers on fd 4
            high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (to_chrome, from_chrome)]
            os.dup2(high[0], 3)
            os.dup2(high[1], 4)

        self.process = subprocess.Popen(
            [
                chromium(),  # skips the test, saying how to install it, where it is missing
                *FLAGS,
                f"--user-data-dir={profile}",
                "--remote-debugging-pipe",
                "about:blank",
            ],
            preexec_fn=fds,
            pass_fds=(3, 4),  # kept open after fds() put the pipes there
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "HOME": str(profile)},
        )
        os.close(to_chrome)
        os.close(from_chrome)
        self.next_id, self.buffer = 0, b""

    def send(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self.commands, json.dumps(message).encode() + b"\0")
        while True:
            while b"\0" not in self.buffer:
                chunk = os.read(self.answers, 1 << 16)
                assert chunk, "chromium went away"
                self.buffer += chunk
            raw, _, self.buffer = self.buffer.partition(b"\0")
            answer = json.loads(raw)
            if answer.get("id") == self.next_id:
                assert "error" not in answer, answer
                return dict(answer["result"])

    def close(self) -> None:
        self.process.kill()
        self.process.wait()
        os.close(self.commands)
        os.close(self.answers)


def what_a_reader_sees(page: Path) -> dict[str, Any]:
    """innerText of the page and the elements it has, once it has loaded."""
    with browser_profile() as profile:
        browser = Browser(Path(profile))
        try:
            url = page.resolve().as_uri()
            target = browser.send("Target.createTarget", url=url)["targetId"]
            session = browser.send("Target.attachToTarget", targetId=target, flatten=True)[
                "sessionId"
            ]

            def evaluate(expression: str) -> Any:
                found = browser.send(
                    "Runtime.evaluate", session, expression=expression, returnByValue=True
                )
                assert "exceptionDetails" not in found, found
                return found["result"].get("value")

            deadline = time.monotonic() + 60
            loaded = f"document.location.href === {json.dumps(url)} && document.readyState"
            while evaluate(loaded) != "complete":
                assert time.monotonic() < deadline, "the page did not load"
                time.sleep(0.1)
            seen = evaluate(
                "JSON.stringify({text: document.body.innerText, title: document.title,"
                " shown: getComputedStyle(document.body).display,"
                " styles: document.querySelectorAll('style').length,"
                " injected: [...document.querySelectorAll("
                "'script, img, marquee, u, h1#x')].map(e => e.tagName)})"
            )
            return dict(json.loads(seen))
        finally:
            browser.close()


def hostile_version(micro: Micro, summaries: bool = False) -> None:
    """v1.1.0 by hand: a commit whose manifest carries hostile values, tagged by a hostile
    tagger with a hostile message, and a stage event with hostile words. With `summaries`, the
    training-data summary's numbers are hostile strings too."""
    manifest_path = micro.path / "models/manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["metrics"] = {"accuracy": HOSTILE["metric"], "f1": HOSTILE["number"]}
    manifest["config"] = {"shrink": HOSTILE["config"]}
    if summaries:
        for summary in manifest["training_data"]["features"].values():
            summary["mean"] = HOSTILE["number"]
    manifest["weights"]["sha256"] = "f" * 64  # other weights
    manifest_path.write_text(json.dumps(manifest, indent=2))
    who = ["-c", f"user.name={HOSTILE['author']}", "-c", "user.email=m@example.com"]
    micro.git(*who, "commit", "--quiet", "-am", "hostile values")
    summary = {"bump": "<i>minor</i>", "reason": HOSTILE["reason"], "metrics": manifest["metrics"]}
    message = f"Registering artifact model version v1.1.0\n\n{json.dumps(summary)}\n"
    micro.git(*who, "tag", "-a", "--cleanup=whitespace", "-m", message, "model@v1.1.0", "HEAD")
    record = {"action": "promote", "by": HOSTILE["stage"], "reason": HOSTILE["stage"]}
    message = f"Assigning stage production to artifact model version v1.1.0\n\n{json.dumps(record)}"
    micro.git(*who, "tag", "-a", "-m", message, "model#production#1", "HEAD")


def test_hostile_values_show_as_text_in_chromium(released: Micro, tmp_path: Path):
    hostile_version(released)
    page = api.report(tmp_path / "registry.html", root=released.path)
    seen = what_a_reader_sees(page)
    assert seen["shown"] != "none" and seen["styles"] == 1, seen
    assert seen["injected"] == [] and seen["title"] == "model registry", seen
    text = seen["text"]
    assert "model: model registry" in text and "v1.1.0" in text and "v1.0.0" in text
    for name, value in HOSTILE.items():
        assert value in text, (name, text)


def test_a_training_summary_of_strings_does_not_stop_the_report(released: Micro, tmp_path):
    hostile_version(released, summaries=True)
    page = api.report(tmp_path / "registry.html", root=released.path).read_text()
    assert "Training-data drift" in page and "<img" not in page and "<script" not in page
