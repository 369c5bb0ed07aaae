"""Weights files: safetensors written whole and in C order, read back with their header.

safetensors (0.8 and earlier; upstream issue #825) writes a Fortran-ordered NumPy array's buffer
as if it were C-ordered: `np.asfortranarray([[0, 1, 2], [3, 4, 5]])` reads back as
`[[0, 3, 1], [4, 2, 5]]`, and every SHA-256 check passes because the file is self-consistent.
scikit-learn's `coef_` with more than one row is Fortran-ordered, and a slice or a transpose is
not contiguous at all. `save_arrays` makes every array C-contiguous first, then writes the file
through a temporary file and a rename, so a crash never leaves half a weights file.

Project code saves and loads its model with `save_arrays` and `load_arrays` (a PyTorch state
dict too, as NumPy arrays) and reads a file's signature with `read_signature`; nothing here ever
unpickles anything.
"""

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from weightline.domain.signature import Signature
from weightline.store.files import write_atomic


def save_arrays(
    arrays: Mapping[str, np.ndarray], path: Path, metadata: Mapping[str, str] | None = None
) -> None:
    """Write `arrays` as one safetensors file, C-ordered, with `metadata` in its header.

    Keep `metadata` to one key (see `Signature.metadata`): safetensors writes several keys in an
    arbitrary order, which would make identical weights differ in bytes.
    """
    from safetensors.numpy import save

    ordered = {name: np.asarray(array, order="C") for name, array in arrays.items()}
    write_atomic(Path(path), save(ordered, metadata=dict(metadata) if metadata else None))


def load_arrays(path: Path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """The arrays and the header metadata of a safetensors file: data only, no code runs."""
    from safetensors import safe_open

    with safe_open(str(path), framework="numpy") as handle:
        arrays = {name: handle.get_tensor(name) for name in handle.keys()}  # noqa: SIM118
        return arrays, dict(handle.metadata() or {})


def read_metadata(path: Path) -> dict[str, str]:
    """The metadata in a weights file's header (only the header is read)."""
    from safetensors import safe_open

    with safe_open(str(path), framework="numpy") as handle:
        return dict(handle.metadata() or {})


def read_signature(path: Path) -> Signature | None:
    """The signature in a weights file's header (only the header is read); None if it has none."""
    return Signature.from_metadata(read_metadata(path))
