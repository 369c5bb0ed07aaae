"""The git server's guard: a pre-receive hook that protects version and stage tags for everyone.

Client-side hooks can be skipped (`git push --no-verify`), and CI is one more client. The hook
installed here runs inside the shared (bare) repository, for every push, whoever sends it:

- a tag in GTO's grammar (`NAME@vX.Y.Z`, `NAME@vX.Y.Z!`, `NAME@deprecated`, `NAME#STAGE#N`,
  `NAME#STAGE!#N`) is never deleted or moved, and deregistration or deprecation tags are refused
  (a version is never withdrawn);
- a new one must be an annotated tag on a commit;
- a new version must be the only version of its artifact on its commit, have a manifest there
  that agrees with dvc.lock, and have its weights on the DVC remote the hook was installed with;
- a new stage event must assign a version the server has (or receives in the same push), and come
  after every stage event the server has, in number and in tag time: the order in which
  weightline (by number) and GTO (by time) read the history is then the same. A push that breaks
  this order lost a race, and is refused as a conflict (the client decides again).

How the hook finds Python: `weightline server install-hook` writes a small shell script that runs
the interpreter that installed it (`sys.executable`, an absolute path) with `-m weightline`, so
the server needs weightline and DVC (and `dvc-s3` for an S3 remote) installed there, and the hook
must be installed again if that environment moves. The DVC remote's URL and options live in the
repository's git config (`weightline.dvcremote`, `weightline.dvcremoteoption`), where they can be
changed without reinstalling; credentials come from the server's environment, as for DVC.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from weightline.errors import ConfigurationError, NotFound, Refused, WeightlineError
from weightline.store import git

MARK = "# installed by `weightline server install-hook`"
_ARTIFACT = r"(?:[a-zA-Z0-9][a-zA-Z0-9_/-]*=)?[a-zA-Z0-9](?:[a-zA-Z0-9_/-]*[a-zA-Z0-9])?"
_STAGE = r"[a-zA-Z0-9](?:[a-zA-Z0-9_/-]*[a-zA-Z0-9])?"
VERSION_TAG = re.compile(rf"^(?P<artifact>{_ARTIFACT})@(?P<version>v[^!]*)(?P<cancel>!?)$")
DEPRECATED_TAG = re.compile(rf"^(?P<artifact>{_ARTIFACT})@deprecated$")
STAGE_TAG = re.compile(rf"^(?P<artifact>{_ARTIFACT})#(?P<stage>{_STAGE})(?P<cancel>!?)#(?P<n>\d+)$")
MAX_DIR_ENTRIES = 100_000  # a .dir object listing more files than this is not weights


@dataclass(frozen=True)
class Problem:
    """One refused ref; `conflict` when the pusher lost a race and should decide again."""

    ref: str
    message: str
    conflict: bool = False

    def __str__(self) -> str:
        return f"{'conflict' if self.conflict else 'refused'}: {self.ref}: {self.message}"


@dataclass(frozen=True)
class ServerTag:
    """A tag as the server has it (or is receiving it)."""

    name: str
    object_id: str
    object_type: str  # "tag" when annotated
    target: str  # the commit (or other object) it names
    target_type: str
    epoch: int  # tagger time; 0 for a lightweight tag


# ---- installing ------------------------------------------------------------------------------


def install(repository: Path, dvc_remote: str, options: list[str], force: bool = False) -> Path:
    """Write the pre-receive hook into `repository` (bare or not) and record the DVC remote."""
    if not repository.is_dir():
        raise NotFound(f"{repository} is not a directory: name the server's git repository")
    found = git.run(repository, "rev-parse", "--git-path", "hooks/pre-receive", check=False)
    if not found.strip():
        raise NotFound(f"{repository} is not a git repository")
    hook = (repository / found.strip()).resolve()
    if hook.exists() and MARK not in hook.read_text(errors="replace") and not force:
        raise Refused(
            f"{hook} exists and is not weightline's: merge it by hand (call weightline's hook "
            "from it), or replace it"
        )
    for option in options:
        if "=" not in option or not option.partition("=")[0].strip():
            raise ConfigurationError(f"DVC remote option {option!r} is not KEY=VALUE")
    git.run(repository, "config", "weightline.dvcremote", dvc_remote)
    git.run(repository, "config", "--unset-all", "weightline.dvcremoteoption", check=False)
    for option in options:
        git.run(repository, "config", "--add", "weightline.dvcremoteoption", option)
    hook.parent.mkdir(parents=True, exist_ok=True)
    hook.write_text(
        "#!/bin/sh\n"
        f"{MARK}\n"
        "# Protects version and stage tags (see weightline's manual, 'The git server').\n"
        "# It runs the Python that installed it; install it again if that environment moves.\n"
        f"exec {shlex.quote(sys.executable)} -m weightline server pre-receive\n"
    )
    hook.chmod(0o755)
    return hook


# ---- checking a push -------------------------------------------------------------------------


def protected(name: str) -> bool:
    return bool(VERSION_TAG.match(name) or DEPRECATED_TAG.match(name) or STAGE_TAG.match(name))


def read_tags(root: Path) -> dict[str, ServerTag]:
    """Every tag of the repository in GTO's grammar."""
    out = git.run(
        root,
        "for-each-ref",
        "--format=%(refname:strip=2)%00%(objectname)%00%(objecttype)%00%(*objectname)"
        "%00%(*objecttype)%00%(taggerdate:unix)",
        "refs/tags/",
    )
    found = {}
    for line in out.splitlines():
        name, object_id, kind, target, target_type, epoch = (line.split("\0") + [""] * 6)[:6]
        if protected(name):
            found[name] = ServerTag(
                name, object_id, kind, target or object_id, target_type or kind, int(epoch or 0)
            )
    return found


def read_object(root: Path, object_id: str, name: str) -> ServerTag:
    """A tag object being received (in git's quarantine, which the hook's environment names)."""
    kind = git.run(root, "cat-file", "-t", object_id).strip()
    if kind != "tag":
        return ServerTag(name, object_id, kind, object_id, kind, 0)
    raw = git.run(root, "cat-file", "tag", object_id)
    head = raw.partition("\n\n")[0]
    target = re.search(r"^object ([0-9a-f]+)$", head, re.MULTILINE)
    target_type = re.search(r"^type (\w+)$", head, re.MULTILINE)
    tagger = re.search(r"^tagger .* (\d+) [+-]\d{4}$", head, re.MULTILINE)
    return ServerTag(
        name,
        object_id,
        "tag",
        target[1] if target else "",
        target_type[1] if target_type else "?",
        int(tagger[1]) if tagger else 0,
    )


def check(root: Path, lines: Iterable[str]) -> list[Problem]:
    """Every problem with the ref updates of one push (`<old> <new> <ref>` lines)."""
    existing = read_tags(root)
    problems: list[Problem] = []
    incoming: list[ServerTag] = []
    for line in lines:
        parts = line.split()
        if len(parts) != 3 or not parts[2].startswith("refs/tags/"):
            continue
        old, new, ref = parts
        name = ref.removeprefix("refs/tags/")
        if not protected(name):
            continue
        if new == git.ZERO:
            problems.append(Problem(name, "deleting a version or stage tag is refused"))
        elif old != git.ZERO:
            problems.append(Problem(name, "moving a version or stage tag is refused"))
        elif name in existing:  # the pusher saw no such tag: someone else pushed it meanwhile
            problems.append(
                Problem(name, "another push created it first: fetch and decide again", True)
            )
        else:
            try:
                incoming.append(read_object(root, new, name))
            except WeightlineError as error:
                problems.append(Problem(name, f"cannot read the pushed object: {error}"))
    if not incoming:
        return problems
    remote = dvc_remote(root)
    accepted: dict[str, ServerTag] = {}  # versions of this push that pass: stages may name them
    for tag in sorted(incoming, key=lambda t: not VERSION_TAG.match(t.name)):
        try:
            found = check_new(root, tag, existing, accepted, remote)
        except Exception as error:  # hostile content must refuse, never crash open
            found = [Problem(tag.name, f"cannot be checked ({type(error).__name__})")]
        problems += found
        if not found and VERSION_TAG.match(tag.name):
            accepted[tag.name] = tag
    problems += stage_order(existing, [t for t in incoming if STAGE_TAG.match(t.name)])
    return problems


def check_new(
    root: Path,
    tag: ServerTag,
    existing: dict[str, ServerTag],
    new_versions: dict[str, ServerTag],
    remote: tuple[str, dict[str, str]] | None,
) -> list[Problem]:
    if tag.object_type != "tag":
        return [Problem(tag.name, "a lightweight tag: versions and stage events are annotated")]
    if tag.target_type != "commit":
        return [Problem(tag.name, f"it points at a {tag.target_type}, not at a commit")]
    if DEPRECATED_TAG.match(tag.name) or (
        (match := VERSION_TAG.match(tag.name)) and match["cancel"]
    ):
        return [Problem(tag.name, "versions are never deregistered or deprecated")]
    if match := VERSION_TAG.match(tag.name):
        others = {**existing, **new_versions}  # one version per commit, in this push too
        return check_version(root, tag, match["artifact"], match["version"], others, remote)
    match = STAGE_TAG.match(tag.name)
    assert match  # protected() let only these three forms through
    for name, version in {**existing, **new_versions}.items():
        found = VERSION_TAG.match(name)
        if (
            found
            and not found["cancel"]
            and found["artifact"] == match["artifact"]
            and version.target == tag.target
            and version.object_type == "tag"
        ):
            return []
    return [
        Problem(
            tag.name,
            f"no version of {match['artifact']} on its commit {tag.target[:10]}: push the "
            "version first (or with it)",
        )
    ]


def check_version(
    root: Path,
    tag: ServerTag,
    artifact: str,
    version: str,
    existing: dict[str, ServerTag],
    remote: tuple[str, dict[str, str]] | None,
) -> list[Problem]:
    from weightline.domain.semver import Version

    try:
        parsed = Version.parse(version)
    except ValueError:
        return [Problem(tag.name, f"{version!r} is not a version like v1.2.3")]
    for name, other in existing.items():
        match = VERSION_TAG.match(name)
        if not match or match["artifact"] != artifact or match["cancel"]:
            continue
        if other.target == tag.target:
            return [Problem(tag.name, f"its commit already holds {name}: one version per commit")]
        if is_same(match["version"], parsed):
            return [Problem(tag.name, f"the same version as {name} (only build metadata differs)")]
    md5, problem = weights_of(root, tag.target, artifact)
    if problem:
        return [Problem(tag.name, problem)]
    if remote is None:
        return [
            Problem(
                tag.name,
                "the server does not know its DVC remote (git config weightline.dvcremote): "
                "install the hook again with the DVC remote's URL",
            )
        ]
    try:
        present = remote_has(remote[0], remote[1], md5)
    except Exception as error:
        return [Problem(tag.name, f"cannot read the DVC remote {remote[0]}: {error}")]
    if not present:
        return [
            Problem(
                tag.name,
                f"the DVC remote {remote[0]} does not have its weights (object {md5}): push them "
                "first (`weightline push` sends the weights before the tag)",
            )
        ]
    return []


def is_same(text: str, version: Any) -> bool:
    from weightline.domain.semver import Version

    try:
        return bool(Version.parse(text) == version)
    except ValueError:
        return False


def weights_of(root: Path, commit: str, artifact: str) -> tuple[str, str]:
    """(the weights' DVC md5, "") at a commit, from dvc.yaml, dvc.lock and the manifest, which
    must agree; or ("", why not)."""
    import yaml

    from weightline.domain.manifest import parse
    from weightline.dvc.lock import output
    from weightline.dvc.lock import parse as parse_lock

    directory, _, name = artifact.rpartition("=")
    prefix = f"{directory}/" if directory else ""
    pipeline = git.show(root, commit, f"{prefix}dvc.yaml")
    declared = (yaml.safe_load(pipeline) or {}).get("artifacts") if pipeline else None
    if not isinstance(declared, dict) or not isinstance(declared.get(name), dict):
        return "", f"{prefix}dvc.yaml at its commit declares no artifact {name!r}"
    path = str(declared[name].get("path", ""))
    manifest_path = f"{prefix}{Path(path).parent}/manifest.json"
    text = git.show(root, commit, manifest_path)
    if text is None:
        return "", f"its commit {commit[:10]} has no {manifest_path}: not a weightline version"
    try:
        manifest = parse(text, f"{manifest_path} at {commit[:10]}")
        lock_text = git.show(root, commit, f"{prefix}dvc.lock") or ""
        entry = output(parse_lock(lock_text, "dvc.lock"), path)
    except WeightlineError as error:
        return "", str(error)
    if manifest["artifact"] != name:
        return "", f"the manifest at its commit is for artifact {manifest['artifact']!r}"
    if manifest["weights"]["md5"] != entry.md5:
        return (
            "",
            f"dvc.lock ({entry.md5}) and the manifest ({manifest['weights']['md5']}) disagree",
        )
    return entry.md5, ""


def dvc_remote(root: Path) -> tuple[str, dict[str, str]] | None:
    url = git.run(root, "config", "weightline.dvcremote", check=False).strip()
    if not url:
        return None
    listed = git.run(root, "config", "--get-all", "weightline.dvcremoteoption", check=False)
    options = dict(line.partition("=")[::2] for line in listed.splitlines() if "=" in line)
    return url, {k.strip(): v.strip() for k, v in options.items()}


def object_path(md5: str) -> str:
    return f"files/md5/{md5[:2]}/{md5[2:]}"  # DVC 3's layout of a remote


def remote_has(url: str, options: dict[str, str], md5: str) -> bool:
    """Whether the DVC remote at `url` has the object (and, for a directory, every file in it)."""
    if "://" not in url or url.startswith("file://"):
        base = Path(url.removeprefix("file://"))

        def exists(path: str) -> bool:
            return (base / path).is_file()

        def read(path: str) -> bytes:
            return (base / path).read_bytes()
    else:
        from dvc.fs import get_cloud_fs

        cls, config, root = get_cloud_fs({}, url=url, **options)
        fs = cls(**config)

        def exists(path: str) -> bool:
            return bool(fs.exists(fs.join(root, path)))

        def read(path: str) -> bytes:
            return bytes(fs.cat_file(fs.join(root, path)))

    if not exists(object_path(md5)):
        return False
    if not md5.endswith(".dir"):
        return True
    listing = json.loads(read(object_path(md5)))
    if not isinstance(listing, list) or len(listing) > MAX_DIR_ENTRIES:
        return False
    return all(isinstance(e, dict) and exists(object_path(str(e.get("md5")))) for e in listing)


def stage_order(existing: dict[str, ServerTag], incoming: list[ServerTag]) -> list[Problem]:
    """New stage events come after every stage event of their artifact, in N and in time."""
    problems = []
    by_artifact: dict[str, list[tuple[int, ServerTag]]] = {}
    for tag in incoming:
        match = STAGE_TAG.match(tag.name)
        assert match
        by_artifact.setdefault(match["artifact"], []).append((int(match["n"]), tag))
    for artifact, new in by_artifact.items():
        old = [
            (int(m["n"]), t)
            for n, t in existing.items()
            if (m := STAGE_TAG.match(n)) and m["artifact"] == artifact
        ]
        highest = max((n for n, _ in old), default=0)
        newest = max((t.epoch for _, t in old), default=0)
        for number, tag in sorted(new, key=lambda item: (item[0], item[1].name)):
            if number <= highest:
                problems.append(
                    Problem(
                        tag.name,
                        f"the server's stage events of {artifact} go up to #{highest}: fetch "
                        "them and make the change again",
                        conflict=True,
                    )
                )
            elif tag.epoch <= newest:
                problems.append(
                    Problem(
                        tag.name,
                        "its tag time is not after the newest stage event of "
                        f"{artifact} (GTO orders them by time): fetch and make the change again",
                        conflict=True,
                    )
                )
            highest, newest = max(highest, number), max(newest, tag.epoch)
    return problems


def pre_receive(lines: Iterable[str], root: Path | None = None) -> list[Problem]:
    """What the installed hook runs: the problems of this push (none: it is accepted)."""
    return check(root or Path(os.getcwd()), lines)
