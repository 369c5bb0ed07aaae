"""Manifests as git holds them: models/manifest.json at a commit."""

from weightline.domain.manifest import Manifest, parse
from weightline.errors import NotFound
from weightline.settings import Settings
from weightline.store import git


def manifest_text(settings: Settings, commit: str) -> str:
    text = git.show(settings.root, commit, settings.manifest)
    if text is None:
        raise NotFound(
            f"commit {commit[:10]} has no {settings.manifest}: run `dvc repro`, commit, register"
        )
    return text


def read_manifest(settings: Settings, commit: str) -> Manifest:
    return parse(manifest_text(settings, commit), f"{settings.manifest} at {commit[:10]}")
