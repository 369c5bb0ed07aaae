"""SHA-256, the hash weightline vouches for (DVC itself only records MD5).

hashlib.file_digest runs at the speed of the CPU's SHA instructions; the manifest stage avoids even
that for weights it has seen before (see manifest.weights_sha256).
"""

import hashlib
from pathlib import Path
from typing import Any


def sha256_file(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def sha256_stream(stream: Any) -> str:
    """SHA-256 of a binary file object (a local file, or a remote one from DVC's filesystems)."""
    return hashlib.file_digest(stream, "sha256").hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
