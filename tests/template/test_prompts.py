"""Bake-time prompts a person can answer: every question in words, every choice explained.

The real `cookiecutter` command runs in a pseudo-terminal, as at a keyboard (no --no-input); the
test reads each prompt's text and types its answer.
"""

import fcntl
import json
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

from .project import TEMPLATE

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class Terminal:
    """A command on a pseudo-terminal: wait for text, type a line."""

    def __init__(self, command: list[str], cwd: Path) -> None:
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 60, 200, 0, 0))
        env = {**os.environ, "NO_COLOR": "1", "TERM": "dumb", "COLUMNS": "200"}
        self.process = subprocess.Popen(
            command, stdin=slave, stdout=slave, stderr=slave, cwd=cwd, env=env, close_fds=True
        )
        os.close(slave)
        self.screen = ""  # everything shown so far, escape codes removed
        self.seen = 0  # how much of it the last expect consumed

    def read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return True
        try:
            chunk = os.read(self.master, 4096)
        except OSError:  # the command exited and closed its end
            return False
        self.screen += ANSI.sub("", chunk.decode(errors="replace")).replace("\r", "")
        return bool(chunk)

    @property
    def words(self) -> str:
        """The screen with every run of whitespace as one space: prompts wrap at the edge."""
        return " ".join(self.screen.split())

    def expect(self, text: str, timeout: float = 60) -> None:
        """Wait until `text` is shown after what the previous expect matched."""
        deadline = time.monotonic() + timeout
        while (found := self.words.find(text, self.seen)) < 0:
            alive = self.read(0.2)
            assert alive and time.monotonic() < deadline, (
                f"{text!r} never came; the screen shows:\n{self.words[self.seen :]}"
            )
        self.seen = found + len(text)

    def type(self, line: str) -> None:
        os.write(self.master, f"{line}\n".encode())

    def finish(self, timeout: float = 300) -> int:
        deadline = time.monotonic() + timeout
        while self.read(0.2) and time.monotonic() < deadline:
            pass
        code = self.process.wait(timeout=max(1.0, deadline - time.monotonic()))
        os.close(self.master)
        return code


def test_every_prompt_is_in_words_and_every_choice_explained(tmp_path: Path):
    prompts = json.loads((TEMPLATE / "cookiecutter.json").read_text())["__prompts__"]
    out = tmp_path / "out"
    terminal = Terminal(
        [sys.executable, "-m", "cookiecutter", "-o", str(out), str(TEMPLATE)], tmp_path
    )
    answers = {
        "project_name": "Fraud Detector",
        "project_slug": "",  # the default, derived from the name
        "package_name": "",
        "author_name": "Ada Lovelace",
        "author_email": "ada@example.com",
        "python_version": "2",
        "framework": "2",
        "task": "1",
        "description": "Flags card payments that look like fraud.",
        "artifact_name": "",
        "dvc_remote": str(tmp_path / "remote"),
        "s3_endpoint_url": "",
        "dvc_cache": "",
    }
    for key, answer in answers.items():
        prompt = prompts[key]
        if isinstance(prompt, dict):  # a choice: the question, then each option explained
            terminal.expect(prompt["__prompt__"])
            for option, explained in prompt.items():
                if option != "__prompt__":
                    terminal.expect(explained)
            terminal.expect("Choose from")
        else:
            terminal.expect(prompt)
        terminal.type(answer)
    assert terminal.finish() == 0, terminal.screen[-2000:]
    questions = re.findall(rf"\[\d+/{len(answers)}\] (?:Select )?(\S+)", terminal.words)
    assert len(questions) == len(answers), terminal.words
    assert not set(questions) & set(answers), "a question shows its raw key name"

    project = out / "fraud-detector"
    state = json.loads((project / ".cruft.json").read_text())["context"]["cookiecutter"]
    assert (state["python_version"], state["framework"], state["task"]) == (
        "3.12",
        "pytorch",
        "binary",
    )
    assert state["author_name"] == "Ada Lovelace" and state["package_name"] == "fraud_detector"
    assert (project / "src/fraud_detector/model.py").exists()
