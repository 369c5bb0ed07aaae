"""Progress on a terminal: commands run on a pseudo-terminal show it on stderr; with --json,
--quiet or without a terminal they show none, and stdout carries only the result."""

from __future__ import annotations

import fcntl
import io
import json
import logging
import os
import select
import shutil
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from weightline import progress

from .microproject import Micro


def on_terminal(micro: Micro, *argv: str) -> tuple[int, str, str]:
    """Run `python -m weightline ARGV` with stdin and stderr on a pseudo-terminal (80 columns)
    and stdout on a pipe: (exit code, stdout, what the terminal showed)."""
    leader, follower = os.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(micro.path / "src"), os.environ.get("PYTHONPATH", "")]),
        "TERM": "xterm",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "weightline", *argv],
        cwd=micro.path,
        env=env,
        stdin=follower,
        stdout=subprocess.PIPE,
        stderr=follower,
    )
    os.close(follower)
    shown = b""
    while True:  # until the terminal closes (EIO): the process and its children are done
        ready, _, _ = select.select([leader], [], [], 1.0)
        if not ready:
            if process.poll() is not None:
                break
            continue
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    assert process.stdout is not None
    out = process.stdout.read().decode()
    return process.wait(), out, shown.decode(errors="replace").replace("\r\n", "\n")


def test_get_shows_its_phases_and_bytes_on_a_terminal(released: Micro):
    code, out, shown = on_terminal(released, "get", "v1.0.0", "-o", "out")
    assert code == 0, shown
    assert "weightline: copying the weights of model@v1.0.0 from the local DVC cache: " in shown
    assert "weightline: verifying the SHA-256 of the weights of model@v1.0.0" in shown
    assert out.startswith("model@v1.0.0: ") and "weightline:" not in out


def test_a_download_from_the_remote_shows_a_byte_bar(released: Micro):
    shutil.rmtree(released.path / ".dvc/cache")
    code, _, shown = on_terminal(released, "get", "v1.0.0", "-o", "out")
    assert code == 0, shown
    assert "weightline: downloading the weights of model@v1.0.0 from DVC remote 'storage': " in (
        shown
    )
    assert " B in " in shown  # the bar's last line: the size and the time it took


def test_json_quiet_and_no_terminal_show_no_progress(released: Micro):
    code, out, shown = on_terminal(released, "get", "v1.0.0", "-o", "as-json", "--json")
    assert code == 0 and json.loads(out)["tag"] == "model@v1.0.0"
    assert "weightline:" not in shown
    code, out, shown = on_terminal(released, "-q", "get", "v1.0.0", "-o", "quiet")
    assert code == 0 and out.startswith("model@v1.0.0: ") and "weightline:" not in shown
    piped = released.run(sys.executable, "-m", "weightline", "get", "v1.0.0", "-o", "piped")
    assert piped.stderr == "" and piped.stdout.startswith("model@v1.0.0: ")


def test_checkout_and_push_say_what_they_do(two: Micro):
    code, out, shown = on_terminal(two, "push")
    assert code == 0, shown
    assert "weightline: pushing the DVC outputs of " in shown
    assert "Pushing" in shown  # DVC's own bars, which progress.configure lets through
    assert out == "pushed weights, then model@v1.1.0\n"
    code, _, shown = on_terminal(two, "checkout", "v1.0.0")
    assert code == 0, shown
    assert "weightline: checking out model@v1.0.0 (commit " in shown
    assert "weightline: pulling the weights and data of model@v1.0.0 (dvc pull)" in shown
    assert "weightline: verifying the SHA-256 of models/model.safetensors" in shown


def test_reproduce_reports_each_phase_and_stage(released: Micro):
    code, out, shown = on_terminal(released, "reproduce", "v1.0.0")
    assert code == 0, shown
    lines = [line for line in shown.splitlines() if "reproduce model@v1.0.0 [" in line]
    assert [line.split("]")[0][-3:] for line in lines] == [
        "1/4", "2/4", "3/4", "3/4", "3/4", "3/4", "4/4"
    ]  # fmt: skip
    assert [line.split("stage ")[-1] for line in lines if ": stage " in line] == [
        "train",
        "evaluate",
        "manifest",
    ]
    assert out.startswith("model@v1.0.0: bit-exact")


# ---- the sink itself ----------------------------------------------------------------------


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def terminal():
    stream = Terminal()
    yield stream
    progress.configure(None)


def test_only_a_terminal_that_nobody_silenced_gets_progress(terminal):
    assert progress.for_terminal(quiet=False, machine_output=False, stream=terminal) is terminal
    assert progress.for_terminal(quiet=True, machine_output=False, stream=terminal) is None
    assert progress.for_terminal(quiet=False, machine_output=True, stream=terminal) is None
    assert progress.for_terminal(quiet=False, machine_output=False, stream=io.StringIO()) is None


def test_phases_and_bars_go_to_the_configured_stream(terminal):
    progress.configure(terminal)
    assert logging.getLogger("dvc.progress").getEffectiveLevel() <= logging.ERROR  # DVC's bars on
    progress.phase("doing one thing")
    with progress.transfer("moving bytes", 3 << 20) as bar:
        bar.advance(1 << 20)
        bar.moved_to(3 << 20)
    assert terminal.getvalue().splitlines()[0] == "weightline: doing one thing"
    assert terminal.getvalue().endswith("weightline: moving bytes: 3.0 MiB in 0.0 s\n")
    with pytest.raises(OSError), progress.transfer("failing", 10) as bar:
        bar.advance(5)
        raise OSError("disk full")
    assert "failing:" not in terminal.getvalue()  # no "done" line for a transfer that failed


def test_off_means_silent_and_dvc_bars_off(terminal, monkeypatch):
    progress.configure(None)
    assert not progress.shown()
    assert logging.getLogger("dvc.progress").getEffectiveLevel() > logging.ERROR
    log, told = logging.getLogger("weightline"), io.StringIO()
    monkeypatch.setattr(log, "handlers", [logging.StreamHandler(told)])
    monkeypatch.setattr(log, "level", logging.INFO)
    progress.phase("told to the log instead")
    with progress.transfer("quiet bytes", 10) as bar:
        bar.advance(10)
    assert terminal.getvalue() == ""
    assert told.getvalue() == "told to the log instead\n"  # `weightline -v` shows it in CI logs


def test_sizes_read_like_people_write_them():
    assert [progress.size(n) for n in (512, 3 << 20, 5 << 30)] == ["512 B", "3.0 MiB", "5.0 GiB"]


def test_the_library_itself_never_prints_progress(tmp_path: Path):
    """Without the command line configuring it, progress is off: API callers see nothing."""
    done = subprocess.run(
        [sys.executable, "-c", "from weightline import progress; progress.phase('x')"],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    assert done.stdout == done.stderr == ""


def test_without_a_terminal_verbose_phases_go_to_the_log(released: Micro):
    logged = released.run(sys.executable, "-m", "weightline", "-v", "get", "v1.0.0", "-o", "out")
    assert logged.stdout.startswith("model@v1.0.0: ")
    # INFO, prefixed: with -v the command sets up `logging` at once, so phases reach the log.
    assert "weightline: verifying the SHA-256 of the weights of model@v1.0.0" in logged.stderr


def test_logging_is_set_up_when_a_logger_is_first_asked_for(tmp_path: Path):
    code = (
        "import sys; from weightline import logs; done = []; "
        "logs.when_ready(lambda logging: done.append(logging.__name__)); "
        "print('logging' in sys.modules, logs.in_use(), done); "
        "logs.get('weightline.x'); print('logging' in sys.modules, logs.in_use(), done)"
    )
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert shown.stdout.splitlines() == ["False False []", "True True ['logging']"]
