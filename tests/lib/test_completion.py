"""Shell completion: the completer called with partial command lines offers commands, options
and the project's live versions and stages; the bash and zsh scripts ask it at each TAB."""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from weightline import api
from weightline.cli import main
from weightline.cli.completion import FILES, candidates

from .microproject import Micro


def values(*words: str) -> list[str]:
    return [value for value, _ in candidates(list(words))]


def test_commands_and_options(inside, two: Micro):
    inside(two)
    commands = values("")
    assert {"get", "promote", "rollback", "drift", "plots", "completion"} <= set(commands)
    assert values("pro") == ["promote"]
    assert values("-") == ["-h", "--help", "-v", "--verbose", "-q", "--quiet", "--traceback",
                           "--version"]  # fmt: skip
    assert values("-q", "ro") == ["rollback"]  # a root option before the command
    assert {"--to", "--reason", "--json"} <= set(values("promote", "v1.0.0", "--"))
    assert values("register", "--bump", "") == ["major", "minor", "patch"]
    assert values("register", "--bump=mi") == ["--bump=minor"]
    assert dict(candidates(["ge"])) == {
        "get": "fetch a version's weights into a directory, verified"
    }


def test_live_versions_stages_and_the_artifact(inside, two: Micro):
    inside(two)
    assert values("get", "v1.") == ["v1.1.0", "v1.0.0"]  # newest first
    assert values("get", "model@") == ["model@v1.1.0", "model@v1.0.0"]
    assert values("diff", "v1.0.0", "v1.1") == ["v1.1.0"]
    assert values("push", "v1.0.0", "v") == ["v1.1.0", "v1.0.0"]  # several refs
    assert values("promote", "v1.0.0", "--to", "") == ["staging", "production", "archived"]
    assert values("rollback", "p") == ["production"]
    assert "--json" in values("show", "v1.0.0", "")  # no positional left: its options
    api.promote("v1.1.0", "staging", root=two.path)
    assert values("show", "") == ["v1.1.0", "v1.0.0", "staging", "HEAD"]  # a stage held now


def test_files_are_left_to_the_shell(inside, two: Micro):
    inside(two)
    assert values("drift", "v1.0.0", "--data", "") == [FILES]
    assert values("get", "v1.0.0", "-o", "") == [FILES]
    assert values("drift", "--", "") == ["v1.1.0", "v1.0.0", "HEAD"]  # after --: positionals


def test_outside_a_project_no_live_values_and_no_error(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert values("get", "v") == []
    assert values("promote", "v1.0.0", "--to", "") == []
    assert "get" in values("")


def test_the_command_answers_each_shell(inside, two: Micro, capsys):
    inside(two)
    assert main(["completion", "--complete", "bash", "weightline get v1.0"]) == 0
    assert capsys.readouterr().out == "v1.0.0\n"
    assert main(["completion", "--complete", "bash", "weightline register --bump=ma"]) == 0
    assert capsys.readouterr().out == "major\n"  # bash completes only what follows the `=`
    assert main(["completion", "--complete", "zsh", "'weightline' 'ge'"]) == 0
    assert capsys.readouterr().out == "get:fetch a version's weights into a directory, verified\n"
    assert main(["completion", "--complete", "zsh", "'weightline' 'get' ''"]) == 0
    assert capsys.readouterr().out.splitlines()[:2] == ["v1.1.0", "v1.0.0"]
    assert main(["completion", "bash"]) == 0
    assert "complete -o default -F _weightline weightline" in capsys.readouterr().out


def environment(micro: Micro) -> dict[str, str]:
    return {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": os.pathsep.join([str(micro.path / "src"), os.environ.get("PYTHONPATH", "")]),
    }


def test_the_bash_script_fills_compreply(two: Micro):
    script = (
        'eval "$(weightline completion bash)"\n'
        'COMP_LINE="weightline get v1."; COMP_POINT=${#COMP_LINE}\n'
        "COMP_WORDS=(weightline get v1.); COMP_CWORD=2\n"
        '_weightline; printf "%s\\n" "${COMPREPLY[@]}"\n'
        'COMP_LINE="weightline drift v1.0.0 --data "; COMP_POINT=${#COMP_LINE}\n'
        '_weightline; echo "files: ${#COMPREPLY[@]}"\n'
    )
    done = subprocess.run(
        ["bash", "--norc", "-c", script],
        cwd=two.path,
        env=environment(two),
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout == "v1.1.0\nv1.0.0\nfiles: 0\n"  # files: bash's own (-o default)


@pytest.mark.skipif(
    shutil.which("zsh") is None, reason="zsh is not installed (apt-get install zsh)"
)
def test_zsh_lists_the_versions_at_a_tab(two: Micro):
    """An interactive zsh on a pseudo-terminal: type `weightline get v1.` and TAB."""
    leader, follower = os.openpty()
    env = {**environment(two), "HOME": str(two.path), "TERM": "dumb", "PS1": "$ "}
    shell = subprocess.Popen(
        ["zsh", "-f", "-i"], cwd=two.path, env=env, stdin=follower, stdout=follower,
        stderr=follower, start_new_session=True,
    )  # fmt: skip
    os.close(follower)
    shown = b""

    def read_until(text: bytes, seconds: float = 60) -> None:
        nonlocal shown
        deadline = time.monotonic() + seconds
        while text not in shown and time.monotonic() < deadline:
            if select.select([leader], [], [], 0.2)[0]:
                shown += os.read(leader, 65536)

    try:
        os.write(leader, b'eval "$(weightline completion zsh)"; echo READY\n')
        read_until(b"READY\r\n")
        os.write(leader, b"weightline get v1.\t")
        read_until(b"v1.1.0")
    finally:
        shell.kill()
        shell.wait()
        os.close(leader)
    listed = shown.split(b"READY\r\n", 1)[-1].decode(errors="replace")
    assert "v1.0.0" in listed and "v1.1.0" in listed, listed
