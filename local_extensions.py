"""Jinja filters that keep free-text answers from breaking the files they are written into."""

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
