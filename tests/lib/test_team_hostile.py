"""Every reader survives any tag: a corpus of hostile tags against every read and write command
and both hooks. One warning per bad tag, never a traceback, never a changed version number; the
server hook refuses the whole corpus."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from weightline.cli import main
from weightline.store import git

from .microproject import Micro
from .teamclones import Team, check_out, make_team, shared_base

pytestmark = pytest.mark.xdist_group("team")

NESTED = "[" * 200_000


@pytest.fixture
def team(micro_released: Micro, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Team:
    return make_team(shared_base(micro_released, tmp_path_factory), tmp_path, size=1)


def annotated(micro: Micro, name: str, target: str, message: bytes) -> None:
    """An annotated tag with exactly these message bytes (invalid UTF-8 and controls kept)."""
    subprocess.run(
        ["git", "tag", "--annotate", "--cleanup=verbatim", "--file=-", name, target],
        input=message,
        cwd=micro.path,
        check=True,
        capture_output=True,
    )


def plant(micro: Micro) -> dict[str, str]:
    """The corpus of issue 11 (and a few more): name -> what it is."""
    root = micro.git("rev-list", "--max-parents=0", "HEAD")  # a commit without a manifest
    v100 = micro.git("rev-parse", "model@v1.0.0^{commit}")
    sentence = b"Registering artifact model version %s\n\n"
    annotated(micro, "model@v9.0.0", root, sentence % b"v9.0.0" + NESTED.encode())
    annotated(micro, "model@v9.1.0", root, sentence % b"v9.1.0" + b'\xff\xfe{"metrics": "\xff"}')
    annotated(micro, "model@v9.9.9", root, sentence % b"v9.9.9")
    annotated(
        micro,
        "model@v9.2.0",
        root,
        sentence % b"v9.2.0" + b'{"a": 1}\x1emodel@v40.0.0\x1f' + b"\x1f\x1e" * 50,
    )
    micro.git("tag", "model@v9.3.0", v100)  # lightweight, on a real version's commit
    annotated(micro, "model@v9.4.0", "refs/tags/model@v1.0.0", b"a tag of a tag\n")
    annotated(micro, "model@v9.5.0", "HEAD^{tree}", b"a tree\n")
    annotated(micro, "model#production#50", root, NESTED.encode())
    micro.git("tag", "model#staging#51", v100)  # a lightweight stage tag
    annotated(micro, "model@v1.0.0!", v100, b"Deregistering artifact model version v1.0.0\n")
    return {
        "model@v9.0.0": "200,000 nested [",
        "model@v9.1.0": "invalid UTF-8",
        "model@v9.9.9": "no manifest at its commit",
        "model@v9.2.0": "\\x1f and \\x1e in the message",
        "model@v9.3.0": "lightweight",
        "model@v9.4.0": "a tag of a tag",
        "model@v9.5.0": "a tree",
        "model#production#50": "200,000 nested [ on a stage tag without a version",
        "model#staging#51": "a lightweight stage tag",
        "model@v1.0.0!": "a GTO deregistration",
    }


def test_every_command_survives_the_corpus(team: Team, capsys, monkeypatch, tmp_path: Path):
    (a,) = team.clones
    corpus = plant(a)
    monkeypatch.chdir(a.path)
    monkeypatch.syspath_prepend(str(a.path / "src"))
    errors: list[str] = []

    def run(*argv: str, stdin: str = "", code: int = 0) -> str:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        done = main(list(argv))
        out, err = capsys.readouterr()
        errors.append(err)
        assert done == code, (argv, out, err)
        assert "Traceback" not in err and "internal error" not in err, (argv, err)
        return out

    listed = json.loads(run("ls", "--json"))
    assert [row["version"] for row in listed] == ["v1.0.0"]
    first = errors[-1]
    for name in corpus:
        assert first.count(f"skipping tag {name}:") == 1, (name, first)

    run("show", "v1.0.0", "--json")
    run("stages", "--json")
    run("query", "--json")
    skipped = json.loads(run("sql", "SELECT tag, reason FROM skipped", "--json"))
    assert {row["tag"] for row in skipped} == set(corpus)
    verified = json.loads(run("verify", "--all", "--json"))
    assert [(r["version"], r["ok"]) for r in verified] == [("model@v1.0.0", True)]
    run("report", "-o", str(tmp_path / "registry.html"))
    run("get", "v1.0.0", "-o", str(tmp_path / "got"))

    check_out(a, "train-1")
    assert json.loads(run("register", "--json"))["registered"] == "model@v1.1.0"
    assert json.loads(run("push", "--json"))["versions"] == ["model@v1.1.0"]
    run("promote", "v1.0.0", "--to", "staging")
    run("promote", "v1.1.0", "--to", "staging")
    run("rollback", "staging")
    pushed = json.loads(run("push", "--json"))
    assert pushed["versions"] == [] and len(pushed["stages"]) == 4

    check_out(a, "train-2")  # a commit that changed the manifest, on main: the hook registers
    run("hook", "post-commit")
    assert "registered model@v1.2.0" in errors[-1]

    lines = "".join(
        f"refs/tags/{name} {a.git('rev-parse', f'refs/tags/{name}')} refs/tags/{name} {git.ZERO}\n"
        for name in corpus
    )
    run("hook", "pre-push", "origin", str(team.origin), stdin=lines, code=4)
    for name in corpus:
        assert re.search(rf"{re.escape(name)}: weightline does not count this tag", errors[-1])

    listed = json.loads(run("ls", "--json"))
    assert [row["version"] for row in listed] == ["v1.2.0", "v1.1.0", "v1.0.0"]
    everything = "".join(errors)
    for name in corpus:  # one warning per bad tag, over every command
        assert everything.count(f"skipping tag {name}:") == 1, name

    before = team.server_tags()
    refused = a.run("git", "push", "--no-verify", "origin", "--tags", check=False)
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    for name in corpus:
        assert f"refused: {name}:" in refused.stderr, name
    assert team.server_tags() == before
