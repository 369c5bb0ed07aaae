"""Checking that a version is what it claims: tag, manifest, dvc.lock, remote object and SHA-256.

Each check that fails is reported by name; nothing is repaired or changed.
"""

import json
from dataclasses import dataclass, field
from typing import Any

from weightline.domain.compare import changes
from weightline.domain.manifest import Manifest, parse
from weightline.domain.tags import RegisteredVersion
from weightline.dvc import lock as dvclock
from weightline.dvc.remote import cache_sha256, has_object, remote_sha256, repository
from weightline.errors import WeightlineError
from weightline.settings import Settings
from weightline.store import git
from weightline.store.digest import sha256_bytes, sha256_file


@dataclass
class Report:
    name: str  # model@v1.2.0
    version: RegisteredVersion | None  # None for a version tag that was deleted
    problems: list[str] = field(default_factory=list[Any])

    @property
    def ok(self) -> bool:
        return not self.problems


def tag_against_manifest(summary: dict[str, Any], manifest: Manifest, text: str) -> list[str]:
    """Fields the tag message recorded at registration that the manifest no longer agrees with."""
    holdout = manifest["data"]["holdout"]
    recorded = {
        "weights.sha256": (summary.get("weights_sha256"), manifest["weights"]["sha256"]),
        "weights.md5": (summary.get("weights_md5"), manifest["weights"]["md5"]),
        "data.holdout.md5": (summary.get("holdout_md5"), holdout["md5"] if holdout else None),
    }
    for item in manifest["data"]["inputs"]:
        recorded[f"data.inputs[{item['path']}].md5"] = (
            summary.get("data", {}).get(item["path"]),
            item["md5"],
        )
    for name, value in summary.get("metrics", {}).items():
        recorded[f"metrics.{name}"] = (value, manifest["metrics"].get(name))
    problems = [
        f"manifest field {name} is {now!r}, the tag recorded {then!r}"
        for name, (then, now) in recorded.items()
        if then is not None and then != now
    ]
    if summary.get("manifest_sha256") and summary["manifest_sha256"] != sha256_bytes(text.encode()):
        problems.append("the manifest's bytes differ from those registered")
    return problems


def check(settings: Settings, version: RegisteredVersion, repo: Any) -> Report:
    report = Report(version.name, version)
    if version.tag.target_type != "commit":
        report.problems.append(f"the tag points at a {version.tag.target_type}, not a commit")
        return report
    registered_on = version.summary.get("commit")
    if registered_on and registered_on != version.commit:
        report.problems.append(
            f"the tag points at commit {version.commit[:10]}, but it was registered on "
            f"{registered_on[:10]}: it has been moved or re-created"
        )
    text = git.show(settings.root, version.commit, settings.manifest)
    if text is None:
        report.problems.append(f"commit {version.commit[:10]} has no {settings.manifest}")
        return report
    try:
        manifest = parse(text, settings.manifest)
        lock_text = git.show(settings.root, version.commit, "dvc.lock") or ""
        entry = dvclock.output(
            dvclock.parse(lock_text, root=settings.root), manifest["weights"]["path"]
        )
    except WeightlineError as error:
        report.problems.append(str(error))
        return report
    report.problems += tag_against_manifest(version.summary, manifest, text)
    weights = manifest["weights"]
    if (entry.md5, entry.size) != (weights["md5"], weights["size"]):
        report.problems.append(
            f"dvc.lock records {entry.md5} ({entry.size} bytes), the manifest {weights['md5']} "
            f"({weights['size']} bytes)"
        )
    report.problems += local_copies(settings, version, manifest, text, repo)
    try:
        if not has_object(repo, weights["md5"]):
            report.problems.append("the DVC remote does not have the weights: `weightline push`")
        elif (actual := remote_sha256(repo, weights["md5"])) != weights["sha256"]:
            report.problems.append(
                f"the remote's weights have SHA-256 {actual}, expected {weights['sha256']}"
            )
    except WeightlineError as error:
        report.problems.append(str(error))
    return report


def local_copies(
    settings: Settings, version: RegisteredVersion, manifest: Manifest, text: str, repo: Any
) -> list[str]:
    """The DVC cache's copy, and the working tree's when HEAD is this version, must agree too."""
    problems = []
    expected = manifest["weights"]["sha256"]
    cached = cache_sha256(repo, manifest["weights"]["md5"])
    if cached is not None and cached != expected:
        problems.append(
            f"the local DVC cache's copy of the weights has SHA-256 {cached}, expected {expected}"
        )
    if git.head(settings.root) != version.commit:
        return problems
    weights = settings.path(manifest["weights"]["path"])
    if weights.exists() and (actual := sha256_file(weights)) != expected:
        problems.append(
            f"{manifest['weights']['path']} in the working tree has SHA-256 {actual}, expected "
            f"{expected}: `dvc checkout --force` restores it"
        )
    workspace = settings.path(settings.manifest)
    if workspace.exists() and (edited := workspace.read_text()) != text:
        try:
            changed = [c["key"] for c in changes(dict(manifest), json.loads(edited))] or [
                "formatting"
            ]
        except json.JSONDecodeError:
            changed = ["the whole file (it is not valid JSON)"]
        problems.append(
            f"{settings.manifest} in the working tree was edited after registration: "
            f"{', '.join(changed)}; `git checkout {settings.manifest}` restores it"
        )
    return problems


def verify(settings: Settings, versions: list[RegisteredVersion]) -> list[Report]:
    with repository(settings.root) as repo:
        return [check(settings, version, repo) for version in versions]


def verify_registry(settings: Settings, refs: list[str], everything: bool = False) -> list[Report]:
    """Reports for the named versions, or for every version (`everything`), including version
    tags that were moved, re-created or deleted since the index first saw them."""
    from weightline.store.index import open_index

    with open_index(settings) as index:  # it remembers each version tag as first seen
        versions = index.versions() if everything else [index.resolve(ref) for ref in refs]
        tampered = index.tampering()
    reports = verify(settings, versions)
    for report in reports:
        if report.name in tampered:
            report.problems.insert(0, tampered.pop(report.name))
    if everything:
        reports += [Report(name, None, [problem]) for name, problem in sorted(tampered.items())]
    return reports
