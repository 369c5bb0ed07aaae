"""The command line in-process (`cli.main(argv)`) and as a process: output formats, exit codes
per error class, --version, -v/--traceback, a closed pipe."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from weightline import __version__
from weightline.cli import main
from weightline.errors import EXIT_CODES

from .microproject import Micro


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_version_and_help(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.strip() == f"weightline {__version__}"
    with pytest.raises(SystemExit):
        main(["--help"])
    listed = capsys.readouterr().out
    for command in ("register", "promote", "query", "hook", "settings"):
        assert command in listed


def test_every_data_command_takes_json(inside, two: Micro, capsys):
    inside(two)
    for argv in (
        ["ls"],
        ["show", "v1.0.0"],
        ["diff", "v1.0.0", "v1.1.0"],
        ["resolve", "v1.1.0"],
        ["stages"],
        ["verify", "v1.0.0"],
        ["settings"],
        ["query"],
        ["sql", "SELECT version FROM versions"],
    ):
        code, out, err = run(capsys, *argv, "--json")
        assert code == 0, (argv, err)
        json.loads(out)  # parses: nothing but JSON on stdout
    code, out, _ = run(capsys, "ls")
    assert out.splitlines()[0].split()[:3] == ["VERSION", "CREATED", "AUTHOR"]


def test_exit_codes_name_the_kind_of_failure(inside, two: Micro, capsys, tmp_path):
    inside(two)
    code, _, err = run(capsys, "show", "v9.9.9")
    assert code == EXIT_CODES["NotFound"] == 3 and "not registered" in err
    code, _, err = run(capsys, "promote", "v1.1.0", "--to", "production")
    assert code == EXIT_CODES["Refused"] == 4 and "never been in staging" in err
    manifest = json.loads(run(capsys, "show", "v1.0.0", "--json")[1])
    md5 = manifest["weights"]["md5"]
    for copy in [*two.path.joinpath(".dvc/cache").rglob(md5[2:]), *two.remote.rglob(md5[2:])]:
        copy.chmod(0o644)
        copy.write_bytes(b"not the weights")
    code, _, err = run(capsys, "get", "v1.0.0", "-o", str(tmp_path / "out"))
    assert code == EXIT_CODES["IntegrityError"] == 6 and "corrupt" in err
    code, _, err = run(capsys, "settings", "no_such_key")
    assert code == 3 and "known are" in err


def test_traceback_only_when_asked(inside, two: Micro, capsys):
    inside(two)
    code, _, err = run(capsys, "show", "v9.9.9")
    assert "Traceback" not in err
    code, _, err = run(capsys, "show", "v9.9.9", "--traceback")
    assert code == 3 and "Traceback" in err


def test_settings_give_hooks_and_workflows_their_paths(inside, two: Micro, capsys):
    inside(two)
    assert run(capsys, "settings", "manifest")[1].strip() == "models/manifest.json"
    assert run(capsys, "settings", "release_branch")[1].strip() == "main"
    assert run(capsys, "settings", "stages")[1].strip() == "staging,production,archived"


def test_a_closed_pipe_ends_quietly(two: Micro):
    done = subprocess.run(
        f"{sys.executable} -m weightline show v1.0.0 --json | head -1",
        shell=True,
        cwd=two.path,
        capture_output=True,
        text=True,
    )
    assert done.stdout.strip() == "{" and "Traceback" not in done.stderr, done.stderr
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from weightline.cli import main; sys.exit(main())",
         "show", "v1.0.0", "--json"],
        cwd=two.path,
        capture_output=True,
        text=True,
    )  # fmt: skip
    assert done.returncode == 0 and json.loads(done.stdout)["artifact"] == "model"


def test_csv_output_neutralises_formulas(inside, two: Micro, capsys):
    inside(two)
    code, out, _ = run(capsys, "sql", "SELECT '=HYPERLINK(1)' AS cell, '-2' AS t, 3 AS n", "--csv")
    assert code == 0 and out.splitlines()[1] == "'=HYPERLINK(1),'-2,3"


def test_a_parser_built_for_one_command_says_what_the_full_one_says(monkeypatch, capsys):
    """cli.main builds only the command being run (a quicker start): its help and its usage
    errors are those of the parser with every command, at whatever terminal width."""
    import shutil

    from weightline.cli.main import GROUPS, build_parser, terminal_columns

    def said(parser, argv: list[str]) -> tuple[object, str, str]:
        with pytest.raises(SystemExit) as done:
            parser.parse_args(argv)
        out, err = capsys.readouterr()
        return done.value.code, out, err

    for columns in ("", "57", "200"):
        monkeypatch.setenv("COLUMNS", columns)
        assert terminal_columns() == shutil.get_terminal_size().columns
        for command in ("query", "sql", "drift", "ls", "promote"):
            assert command in GROUPS
            for argv in ([command, "--help"], [command, "--no-such-flag"]):
                assert said(build_parser(only=command), argv) == said(build_parser(), argv)
