"""SHA-256, the hash weightline vouches for (DVC itself only records MD5).

hashlib.file_digest runs at the speed of the CPU's SHA instructions; the manifest stage avoids even
that for weights it has seen before (see manifest.weights_sha256).
"""

import hashlib
from pathlib import Path
from typing import BinaryIO


def sha256_file(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def sha256_stream(stream: BinaryIO) -> str:
    return hashlib.file_digest(stream, "sha256").hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
