"""weightline's pure parts: versions, bumps, signatures, tag messages, manifest parsing."""

import numpy as np
import pandas as pd
import pytest

from weightline import Signature
from weightline.domain.bump import derive
from weightline.domain.manifest import parse
from weightline.domain.semver import Version
from weightline.domain.tags import RegisteredVersion, Tag, registration_message, summary_of
from weightline.errors import WeightlineError


def test_versions_order_like_semver():
    texts = ["v1.0.0-rc.1", "v0.9.9", "v1.0.0", "v1.0.0-rc.2", "v1.10.0", "v1.2.0", "v1.0.0-alpha"]
    ordered = sorted(Version.parse(t) for t in texts)
    assert [str(v) for v in ordered] == [
        "v0.9.9", "v1.0.0-alpha", "v1.0.0-rc.1", "v1.0.0-rc.2", "v1.0.0", "v1.2.0", "v1.10.0",
    ]  # fmt: skip
    assert Version.parse("v1.2.3").bump("minor") == Version.parse("v1.3.0")
    assert Version.parse("v1.2.3").bump("major") == Version.parse("v2.0.0")
    for bad in ("1.2.3", "v1.2", "v01.2.3", "latest", "v1.2.3; rm -rf /"):
        with pytest.raises(ValueError):
            Version.parse(bad)


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame({"a": [1.0, 2.0], "b": [1, 2]})


def manifest(frame: pd.DataFrame, raw: str = "m1", C: float = 1.0) -> dict:
    signature = Signature.infer(frame, outputs={"probability": "float64"})
    return {
        "signature": signature.to_dict(),
        "config": {"model": {"C": C}},
        "data": {"inputs": [{"path": "data/raw", "md5": raw}], "holdout": None},
    }


def test_bump_is_derived_from_what_changed(frame):
    base = manifest(frame)
    assert derive(None, base).level == "initial"
    assert derive(base, manifest(frame)).level == "patch"
    data = derive(base, manifest(frame, raw="m2"))
    assert (data.level, data.reason) == ("minor", "data changed: data/raw")
    config = derive(base, manifest(frame, C=0.5))
    assert (config.level, config.reason) == ("minor", "config changed: model.C (1.0 -> 0.5)")
    broken = derive(base, manifest(frame.drop(columns=["b"])))
    assert broken.level == "major" and "inputs removed: b" in broken.reason


def test_signature_compatibility(frame):
    from weightline.domain.signature import breaking_changes

    old = Signature.infer(frame, outputs={"probability": "float64"})
    widened = Signature.infer(frame.astype({"b": "float64"}), outputs={"probability": "float64"})
    assert breaking_changes(old, widened) == []  # int64 -> float64 is a safe upcast
    narrowed = Signature.infer(frame.astype({"a": "int64"}), outputs={"probability": "float64"})
    assert breaking_changes(old, narrowed) == ["input a: dtype float64 -> int64"]
    renamed = Signature.infer(frame.rename(columns={"a": "z"}), outputs={"probability": "float64"})
    assert breaking_changes(old, renamed) == ["inputs added: z", "inputs removed: a"]
    assert Signature.from_dict(old.to_dict()) == old
    gappy = frame.assign(a=[np.nan, 1.0])
    assert Signature.infer(gappy, outputs={"p": "float64"}).inputs[0].nullable


def test_tag_message_round_trip():
    message = registration_message("model", Version.parse("v1.3.0"), {"bump": "minor"})
    assert message.startswith("Registering artifact model version v1.3.0\n\n")
    assert summary_of(message) == {"bump": "minor"}
    assert summary_of("Registering artifact model version v1.3.0") == {}
    assert summary_of("Registering artifact model version v1.3.0\n\nnot json") == {}


def test_truncated_or_foreign_manifest_is_refused():
    with pytest.raises(WeightlineError, match="truncated"):
        parse('{"schema_version": 1, "weights": {', "models/manifest.json")
    with pytest.raises(WeightlineError, match="not a weightline manifest"):
        parse('{"hello": 1}', "models/manifest.json")


def test_records_compare_hash_and_show_by_their_fields():
    tag = Tag("model@v1.0.0", "a" * 40, "b" * 40, "commit", "Ann", "ann@x", "2026-01-01", "m")
    same = Tag("model@v1.0.0", "a" * 40, "b" * 40, "commit", "Ann", "ann@x", "2026-01-01", "m")
    assert tag == same and hash(tag) == hash(same) and len({tag, same}) == 1
    assert tag != Tag("model@v1.0.1", "a" * 40, "b" * 40, "commit", "Ann", "ann@x", "x", "m")
    version = RegisteredVersion("model", Version.parse("v1.0.0"), tag)
    assert version.summary == {} and version.name == "model@v1.0.0"
    assert repr(Version(1, 2, 3)) == "Version(major=1, minor=2, patch=3, prerelease='', build='')"
    assert Version.parse("v1.2.3+build.7") == Version(1, 2, 3)  # SemVer: build metadata aside
    assert Version(1, 2, 3) != (1, 2, 3)
