"""Semantic versions (SemVer 2.0) as GTO writes them: `v1.2.3`, optionally `-rc.1` and `+build`."""

import re
from functools import total_ordering

from weightline.domain.record import Record

_PATTERN = re.compile(
    r"^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*))?"
    r"(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$"
)
BUMPS = ("patch", "minor", "major")


@total_ordering
class Version(Record):
    FIELDS = ("major", "minor", "patch", "prerelease", "build")
    __slots__ = FIELDS
    major: int
    minor: int
    patch: int
    prerelease: str
    build: str

    def __init__(
        self, major: int, minor: int, patch: int, prerelease: str = "", build: str = ""
    ) -> None:
        self.major, self.minor, self.patch = major, minor, patch
        self.prerelease, self.build = prerelease, build

    @classmethod
    def parse(cls, text: str) -> "Version":
        """Parse `v1.2.3` (the `v` is required, as in GTO tags); raise ValueError otherwise."""
        match = _PATTERN.match(text)
        if not match:
            raise ValueError(f"{text!r} is not a version like v1.2.3")
        major, minor, patch, prerelease, build = match.groups()
        return cls(int(major), int(minor), int(patch), prerelease or "", build or "")

    def __str__(self) -> str:
        text = f"v{self.major}.{self.minor}.{self.patch}"
        if self.prerelease:
            text += f"-{self.prerelease}"
        return text + (f"+{self.build}" if self.build else "")

    def _key(self) -> tuple[object, ...]:
        # A release sorts after its pre-releases; their fields compare as numbers or as text.
        fields = [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in self.prerelease.split(".")]
        return (
            self.major,
            self.minor,
            self.patch,
            not self.prerelease,
            fields if self.prerelease else [],
        )

    def __lt__(self, other: "Version") -> bool:
        return self._key() < other._key()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Version) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(str(self).split("+")[0])

    def bump(self, level: str) -> "Version":
        if level == "major":
            return Version(self.major + 1, 0, 0)
        if level == "minor":
            return Version(self.major, self.minor + 1, 0)
        if level == "patch":
            return Version(self.major, self.minor, self.patch + 1)
        raise ValueError(f"unknown bump {level!r}: use one of {', '.join(BUMPS)}")


def is_version(text: str) -> bool:
    return bool(_PATTERN.match(text))
