"""Jinja filters: free-text answers that cannot break the files they are written into, and where
the template came from (for the generated project's .cruft.json)."""

import subprocess
from pathlib import Path

from cookiecutter.utils import simple_filter

_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}


@simple_filter
def quoted(value: object) -> str:
    """Render a double-quoted string that TOML, YAML and Python all read back unchanged.

    Printable characters stay as they are (so "José" stays readable); everything else becomes a
    \\uXXXX or \\UXXXXXXXX escape, which all three formats share. JSON-style escaping is not enough:
    it writes astral characters as surrogate pairs, which TOML rejects.
    """
    out = []
    for ch in str(value):
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ch.isprintable():
            out.append(ch)
        elif ord(ch) <= 0xFFFF:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    return '"' + "".join(out) + '"'


@simple_filter
def one_line(value: object) -> str:
    """Collapse whitespace, newlines included: package metadata fields are single lines."""
    return " ".join(str(value).split())


@simple_filter
def no_slash(value: object) -> str:
    """Keep a path separator in an answer from creating nested directories.

    The project directory is created before the pre-generation hook can refuse a bad slug, and
    cookiecutter removes only the innermost directory: `my/project` would leave `my/` behind.
    """
    return str(value).replace("/", "-").replace("\\", "-")


@simple_filter
def template_source(template: str) -> str:
    """Where `cruft update` can fetch this template again: a git URL as given (cookiecutter's
    gh:/gl:/bb: abbreviations expanded), else the absolute path of the local checkout.

    For hooks only: cookiecutter renders a hook inside the template's directory.
    """
    from cookiecutter.config import BUILTIN_ABBREVIATIONS
    from cookiecutter.repository import expand_abbreviations, is_repo_url

    expanded = expand_abbreviations(str(template), BUILTIN_ABBREVIATIONS)
    return expanded if is_repo_url(expanded) else str(Path.cwd())


@simple_filter
def template_commit(_: object) -> str:
    """The git commit of the template being rendered ("" outside a git checkout); for hooks."""
    done = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else ""
