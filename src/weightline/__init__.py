"""weightline: versions of model weights as git tags, with manifests, lineage and rollback.

Training code uses `Run` and `Signature`, serving code `load_model`; everything else is the
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
}

__all__ = ["Run", "Signature", "WeightlineError", "__version__", "load_model"]


def __getattr__(name: str) -> object:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
