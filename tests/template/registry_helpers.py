"""Building registry histories on baked projects, and looking at pages in a real browser.

Versions made here are real: a commit holding a manifest (the project's own, edited) and an
annotated tag with weightline's message, dated and signed by whoever the test says, as if
registered then. Only training is skipped, so a history of many versions takes seconds.
"""

import hashlib
import json
import os
import struct
import subprocess
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

from ..browser import FLAGS, chromium, profile
from .project import Project
from .story import drop_rows, train_and_commit


def git_as(project: Project, *args: str, who: tuple[str, str] | None, date: str | None) -> str:
    """A git command as another person, at another time (both for commits and tags)."""
    env = project.env()
    if date:
        env.update(GIT_COMMITTER_DATE=date, GIT_AUTHOR_DATE=date)
    identity = ["-c", f"user.name={who[0]}", "-c", f"user.email={who[1]}"] if who else []
    done = project.run("git", "-c", "core.hooksPath=/dev/null", *identity, *args, env=env)
    return done.stdout.strip()


ALICE = ("Alice Martin", "alice@example.com")
BOB = ("Bob Chen", "bob@example.com")


def head_manifest(project: Project) -> dict:
    return json.loads(project.git("show", "HEAD:models/manifest.json"))


def add_version(
    project: Project,
    version: str,
    edit: Callable[[dict], None] = lambda m: None,
    who: tuple[str, str] | None = None,
    date: str | None = None,
    bump: str = "minor",
) -> str:
    """Commit an edited manifest and tag it `<artifact>@<version>`; returns the commit."""
    manifest = head_manifest(project)
    if who:
        manifest["run"].update(user=who[0], email=who[1])
    edit(manifest)
    manifest["weights"]["sha256"] = hashlib.sha256(version.encode()).hexdigest()  # other weights
    path = project.path / "models/manifest.json"
    text = json.dumps(manifest, indent=2) + "\n"
    path.write_text(text)
    git_as(project, "add", "models/manifest.json", who=who, date=date)
    git_as(project, "commit", "--quiet", "-m", f"Train {version}", who=who, date=date)
    commit = project.git("rev-parse", "HEAD")
    summary = {
        "commit": commit,
        "weights_sha256": manifest["weights"]["sha256"],
        "weights_md5": manifest["weights"]["md5"],
        "data": {i["path"]: i["md5"] for i in manifest["data"]["inputs"]},
        "holdout_md5": manifest["data"]["holdout"]["md5"],
        "metrics": {k: manifest["metrics"][k] for k in ("accuracy", "f1", "roc_auc")},
        "bump": bump,
        "reason": f"made by the test for {version}",
    }
    message = (
        f"Registering artifact {project.artifact} version {version}\n\n"
        + json.dumps(summary, sort_keys=True)
        + "\n"
    )
    tag(project, f"{project.artifact}@{version}", commit, message, who=who, date=date)
    return commit


def tag(
    project: Project,
    name: str,
    commit: str,
    message: str,
    who: tuple[str, str] | None = None,
    date: str | None = None,
) -> None:
    """An annotated tag on the commit itself, message kept as written (as weightline does)."""
    git_as(
        project,
        "tag",
        "--annotate",
        "--cleanup=whitespace",
        "-m",
        message,
        name,
        commit,
        who=who,
        date=date,
    )


def stage_tag(
    project: Project, stage: str, number: int, version: str, assigned: bool = True, **extra
) -> None:
    """A GTO stage tag on the version's commit, with a message like `weightline promote` writes."""
    artifact = project.artifact
    commit = project.git("rev-parse", f"{artifact}@{version}^{{commit}}")
    if assigned:
        name, sentence = (
            f"{artifact}#{stage}#{number}",
            f"Assigning stage {stage} to artifact {artifact} version {version}",
        )
    else:
        name, sentence = (
            f"{artifact}#{stage}!#{number}",
            f"Unassigning stage {stage} from artifact {artifact} version {version}",
        )
    record = {"action": "promote" if assigned else "unassign", "by": "Test Runner", **extra}
    message = f"{sentence}\n\n{json.dumps(record, sort_keys=True)}\n"
    project.run("git", "tag", "--annotate", "--cleanup=whitespace", "-m", message, name, commit)


def py(project: Project, code: str) -> object:
    """Run Python in the project (its src on the path) and return what it printed, as JSON."""
    return json.loads(project.run("python", "-c", code).stdout)


# ---- a real browser ------------------------------------------------------------------------


def headless(page: Path, *args: str) -> str:
    """Run headless Chromium on a local file and return what it printed."""
    with profile() as home:
        done = subprocess.run(
            [chromium(), *FLAGS, f"--user-data-dir={home}", *args, page.resolve().as_uri()],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "HOME": home},
        )
    if done.returncode != 0:
        pytest.fail(f"chromium failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return done.stdout


def png_pixels(path: Path):
    """The RGB pixels (height x width x 3 array) of an 8-bit non-interlaced PNG, decoded here."""
    import numpy as np

    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    offset, chunks, header = 8, [], None
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind, body = data[offset + 4 : offset + 8], data[offset + 8 : offset + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            chunks.append(body)
        offset += 12 + length
    width, height, depth, color, _, _, interlace = header
    assert depth == 8 and interlace == 0 and color in (2, 6), header
    channels = 4 if color == 6 else 3
    raw = np.frombuffer(zlib.decompress(b"".join(chunks)), dtype=np.uint8)
    raw = raw.reshape(height, width * channels + 1)
    image = np.zeros((height, width, channels), dtype=np.int32)
    previous = np.zeros((width, channels), dtype=np.int32)
    for y in range(height):
        kind, line = raw[y, 0], raw[y, 1:].reshape(width, channels).astype(np.int32)
        if kind == 1:  # sub: a running sum along the row
            line = np.cumsum(line, axis=0) % 256
        elif kind == 2:  # up
            line = (line + previous) % 256
        elif kind in (3, 4):  # average, Paeth: byte by byte, in plain Python (fast enough)
            line = np.array(unfilter(kind, raw[y, 1:].tobytes(), previous, channels))
            line = line.reshape(width, channels)
        image[y], previous = line, line
    return image[:, :, :3]


def unfilter(kind: int, line: bytes, previous, channels: int) -> list[int]:
    out = list(line)
    up = previous.reshape(-1).tolist()
    for x in range(len(out)):
        left = out[x - channels] if x >= channels else 0
        if kind == 3:
            out[x] = (out[x] + (left + up[x]) // 2) & 0xFF
            continue
        corner = up[x - channels] if x >= channels else 0
        p = left + up[x] - corner
        pa, pb, pc = abs(p - left), abs(p - up[x]), abs(p - corner)
        out[x] = (
            out[x] + (left if pa <= pb and pa <= pc else up[x] if pb <= pc else corner)
        ) & 0xFF
    return out


def count_color(path: Path, rgb: tuple[int, int, int], tolerance: int = 12) -> int:
    """Pixels of a screenshot within `tolerance` of a colour."""
    import numpy as np

    pixels = png_pixels(path)
    return int((np.abs(pixels - np.array(rgb)) <= tolerance).all(axis=2).sum())


def shift_feature(manifest: dict, feature: str, by: float) -> None:
    """Move one feature of the training-data summary, as if the data had shifted."""
    summary = manifest["training_data"]["features"][feature]
    for key in ("mean", "min", "max"):
        summary[key] += by
    summary["quantiles"] = {q: v + by for q, v in summary["quantiles"].items()}


def set_model(manifest: dict, c: float, accuracy: float, f1: float) -> None:
    manifest["config"]["model"]["C"] = c
    manifest["metrics"].update(accuracy=accuracy, f1=f1)


def build_history(project: Project) -> Project:
    """Two trained versions and three registered by hand, with stage events, on a baked project
    (trained and registered as v1.0.0 already, or not yet).

    v1.0.0  trained, C=1.0                                     (now, Test Runner)
    v1.1.0  trained on 40 fewer rows, C=1.0                    (now, Test Runner)
    v1.2.0  C=0.5, accuracy 0.82, mean_radius shifted by +5    (2024-03-01, Alice)
    v1.3.0  C=2.0, accuracy 0.91                               (2024-03-15, Bob)
    v2.0.0  C=1.0, accuracy 0.88, classes 50/50, numpy 9.9.9   (2024-04-01, Alice)
    staging: v1.2.0 (#1); production: v1.1.0 (#2), v1.3.0 (#3), v1.3.0 unassigned (#4)
    """
    if not project.git("tag", "-l", f"{project.artifact}@v1.0.0"):
        out = train_and_commit(project, "Train the first model")
        assert f"registered {project.artifact}@v1.0.0" in out, out
    drop_rows(project, 40)
    out = train_and_commit(project, "Retrain without the last 40 rows")
    assert f"registered {project.artifact}@v1.1.0" in out, out

    def v120(m: dict) -> None:
        set_model(m, 0.5, 0.82, 0.8)
        shift_feature(m, "mean_radius", 5.0)

    def v200(m: dict) -> None:
        set_model(m, 1.0, 0.88, 0.87)
        m["training_data"]["target"]["balance"] = {"0": 0.5, "1": 0.5}
        m["environment"]["packages"]["numpy"] = "9.9.9"

    add_version(project, "v1.2.0", v120, ALICE, "2024-03-01T12:00:00+00:00")
    add_version(
        project, "v1.3.0", lambda m: set_model(m, 2.0, 0.91, 0.9), BOB, "2024-03-15T12:00:00+00:00"
    )
    add_version(project, "v2.0.0", v200, ALICE, "2024-04-01T12:00:00+00:00", bump="major")
    stage_tag(project, "staging", 1, "v1.2.0")
    stage_tag(project, "production", 2, "v1.1.0", reason="first production model")
    stage_tag(project, "production", 3, "v1.3.0")
    stage_tag(project, "production", 4, "v1.3.0", assigned=False, reason="accuracy dropped")
    return project
