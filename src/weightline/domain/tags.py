"""GTO's tag grammar, and the registered versions read from git in one pass.

`model@v1.2.0` registers a version; `model#production#7` assigns a stage and `model#production!#8`
unassigns it. Tags are annotated; the message starts with GTO's sentence and, after a blank line,
carries weightline's JSON summary. Only tags that fit the grammar and are annotated count.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path

from weightline.domain.semver import Version, is_version
from weightline.store import git

NAME = r"[a-zA-Z0-9](?:[a-zA-Z0-9_/-]*[a-zA-Z0-9])?"
_SEP = "\x1f"  # between fields of one ref
_END = "\x1e"  # between refs


def version_tag(artifact: str, version: Version | str) -> str:
    return f"{artifact}@{version}"


def registration_message(artifact: str, version: Version, summary: dict) -> str:
    return (
        f"Registering artifact {artifact} version {version}\n\n"
        + json.dumps(summary, sort_keys=True)
        + "\n"
    )


def summary_of(message: str) -> dict:
    """The JSON summary after GTO's sentence, or {} for a tag written by another tool."""
    _, _, rest = message.partition("\n\n")
    try:
        value = json.loads(rest.strip() or "{}")
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class Tag:
    """One annotated tag as git stores it."""

    name: str
    object_id: str  # the tag object itself
    commit: str  # what it points at (peeled)
    target_type: str  # "commit" unless someone tagged a tag or a tree
    tagger: str
    email: str
    date: str  # ISO 8601
    message: str


@dataclass(frozen=True)
class RegisteredVersion:
    artifact: str
    version: Version
    tag: Tag
    summary: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.tag.name

    @property
    def commit(self) -> str:
        return self.tag.commit


def read_tags(root: Path, pattern: str) -> list[Tag]:
    """Every annotated tag matching the glob, with message and peeled commit, in one git call."""
    fmt = _SEP.join(
        [
            "%(refname:strip=2)",
            "%(objecttype)",
            "%(objectname)",
            "%(*objectname)",
            "%(*objecttype)",
            "%(taggername)",
            "%(taggeremail:trim)",
            "%(taggerdate:iso-strict)",
            "%(contents)",
        ]
    )
    out = git.run(root, "for-each-ref", f"--format={fmt}{_END}", f"refs/tags/{pattern}")
    tags = []
    for record in out.split(_END):
        fields = record.strip("\n").split(_SEP)
        if len(fields) != 9 or fields[1] != "tag":
            continue  # lightweight tags are not registrations (GTO ignores them too)
        name, _, object_id, commit, target_type, tagger, email, date, message = fields
        tags.append(Tag(name, object_id, commit, target_type, tagger, email, date, message))
    return tags


def registered_versions(root: Path, artifact: str) -> list[RegisteredVersion]:
    """All versions of `artifact`, oldest first.

    Tags outside the grammar are left out, and so is any second version on one commit (the lowest
    counts, as in the index, which also warns about it): GTO refuses such a repository outright.
    """
    prefix = f"{artifact}@"
    candidates = []
    for tag in read_tags(root, f"{artifact}@v*"):
        text = tag.name[len(prefix) :]
        if is_version(text) and tag.target_type == "commit":
            candidates.append(
                RegisteredVersion(artifact, Version.parse(text), tag, summary_of(tag.message))
            )
    seen: set[str] = set()
    versions = []
    for version in sorted(candidates, key=lambda v: v.version):
        if version.commit not in seen:
            seen.add(version.commit)
            versions.append(version)
    return versions
