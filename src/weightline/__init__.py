"""weightline: versions of model weights as git tags, with manifests, lineage and rollback.

Training code uses `Run`, `Signature` and `save_arrays` (safetensors, always C-ordered), loader
code `load_arrays`, serving code `load_model`; everything else is the
`weightline` command and `weightline.api`. Imports are lazy so that the command starts fast
(reading the registry needs neither pandas nor DVC).
"""

from importlib import import_module

from weightline._version import __version__
from weightline.errors import WeightlineError

_LAZY = {
    "Run": "weightline.ops.training",
    "Signature": "weightline.domain.signature",
    "load_model": "weightline.ops.loading",
    "save_arrays": "weightline.ops.weights",
    "load_arrays": "weightline.ops.weights",
    "read_signature": "weightline.ops.weights",
}

__all__ = [
    "Run",
    "Signature",
    "WeightlineError",
    "__version__",
    "load_arrays",
    "load_model",
    "read_signature",
    "save_arrays",
]


def __getattr__(name: str) -> object:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
