"""GTO's tag grammar: names, messages and the records a tag stands for.

`model@v1.2.0` registers a version; `model#production#7` assigns a stage and `model#production!#8`
unassigns it. Tags are annotated; the message starts with GTO's sentence and, after a blank line,
carries weightline's JSON summary. Only tags that fit the grammar and are annotated count.
Tags are read from git by the index (store/index.py), never here: this module does no I/O.

A tag message is input from anyone who can push a tag, so reading its summary is bounded: a
message too large or too deeply nested is treated as having no summary, never as a crash.
"""

from __future__ import annotations

import json

from weightline.domain.record import Record
from weightline.domain.semver import Version

TYPE_CHECKING = False  # `typing` for the type checker only (see weightline.settings)
if TYPE_CHECKING:
    from typing import Any

NAME = r"[a-zA-Z0-9](?:[a-zA-Z0-9_/-]*[a-zA-Z0-9])?"
MAX_SUMMARY_BYTES = 256 * 1024  # weightline's own summaries are a few KiB


def version_tag(artifact: str, version: Version | str) -> str:
    return f"{artifact}@{version}"


def registration_message(artifact: str, version: Version, summary: dict[str, Any]) -> str:
    return (
        f"Registering artifact {artifact} version {version}\n\n"
        + json.dumps(summary, sort_keys=True)
        + "\n"
    )


def summary_of(message: str) -> dict[str, Any]:
    """The JSON summary after GTO's sentence, or {} for a tag written by another tool."""
    _, _, rest = message.partition("\n\n")
    value = bounded_json(rest.strip() or "{}", MAX_SUMMARY_BYTES)
    return value if isinstance(value, dict) else {}


def bounded_json(text: str, max_bytes: int) -> object:
    """Parsed JSON, or None for text that is not JSON, too large, or nested too deeply for the
    parser (which raises RecursionError on a hostile 200,000 `[`)."""
    if len(text) > max_bytes:
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


class Tag(Record):
    """One annotated tag as git stores it."""

    FIELDS = ("name", "object_id", "commit", "target_type", "tagger", "email", "date", "message")
    __slots__ = FIELDS
    name: str
    object_id: str  # the tag object itself
    commit: str  # what it points at (peeled)
    target_type: str  # "commit" unless someone tagged a tag or a tree
    tagger: str
    email: str
    date: str  # ISO 8601
    message: str

    def __init__(
        self,
        name: str,
        object_id: str,
        commit: str,
        target_type: str,
        tagger: str,
        email: str,
        date: str,
        message: str,
    ) -> None:
        self.name = name
        self.object_id = object_id
        self.commit = commit
        self.target_type = target_type
        self.tagger = tagger
        self.email = email
        self.date = date
        self.message = message


class RegisteredVersion(Record):
    FIELDS = ("artifact", "version", "tag", "summary")
    __slots__ = FIELDS
    artifact: str
    version: Version
    tag: Tag
    summary: dict[str, Any]

    def __init__(
        self, artifact: str, version: Version, tag: Tag, summary: dict[str, Any] | None = None
    ) -> None:
        self.artifact, self.version, self.tag = artifact, version, tag
        self.summary = {} if summary is None else summary

    @property
    def name(self) -> str:
        return self.tag.name

    @property
    def commit(self) -> str:
        return self.tag.commit
