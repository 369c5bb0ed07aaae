"""Model signatures: the contract between whoever sends data and the weights that receive it.

Derived from the training frame at training time (names, dtypes, shapes, whether NaN was seen) plus
the output spec, saved as models/signature.json and inside the safetensors header.
"""

import json
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from weightline.errors import WeightlineError

SCHEMA_VERSION = 1
METADATA_KEY = "weightline"


@dataclass(frozen=True)
class Column:
    name: str
    dtype: str  # a NumPy dtype name: float64, int64, bool, ...
    shape: tuple[int, ...] = (-1,)  # -1: one value per row
    nullable: bool = False


@dataclass(frozen=True)
class Signature:
    inputs: tuple[Column, ...]
    outputs: tuple[Column, ...]

    @classmethod
    def infer(cls, features: pd.DataFrame, outputs: dict[str, str]) -> "Signature":
        """Read the input side off the training frame; `outputs` maps output names to dtypes."""
        inputs = tuple(
            Column(str(name), np.dtype(dtype).name, (-1,), bool(features[name].isna().any()))
            for name, dtype in features.dtypes.items()
        )
        return cls(inputs, tuple(Column(name, np.dtype(d).name) for name, d in outputs.items()))

    @property
    def input_shape(self) -> list[int]:
        return [-1, len(self.inputs)]

    def to_dict(self) -> dict:
        return {
            "schema_version": SCHEMA_VERSION,
            "inputs": [asdict(c) | {"shape": list(c.shape)} for c in self.inputs],
            "input_shape": self.input_shape,
            "outputs": [asdict(c) | {"shape": list(c.shape)} for c in self.outputs],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"

    @classmethod
    def from_dict(cls, data: dict) -> "Signature":
        def columns(items: list[dict]) -> tuple[Column, ...]:
            return tuple(
                Column(
                    i["name"], i["dtype"], tuple(i.get("shape", (-1,))), i.get("nullable", False)
                )
                for i in items
            )

        return cls(columns(data["inputs"]), columns(data["outputs"]))

    def metadata(self, **extra: str) -> dict[str, str]:
        """The safetensors header entry: one key holding JSON.

        safetensors writes several metadata keys in an arbitrary order, so two keys would make
        identical weights differ in bytes (and in SHA-256) from one run to the next.
        """
        value = {"signature": self.to_dict(), **extra}
        return {METADATA_KEY: json.dumps(value, sort_keys=True, separators=(",", ":"))}


def breaking_changes(old: Signature, new: Signature) -> list[str]:
    """What a caller of `old` would break on with `new`; empty when `new` is compatible."""
    problems = []
    before = {c.name: c for c in old.inputs}
    after = {c.name: c for c in new.inputs}
    if removed := [n for n in before if n not in after]:
        problems.append(f"inputs removed: {', '.join(removed)}")
    if added := [n for n in after if n not in before]:
        problems.append(f"inputs added: {', '.join(added)}")
    for name in before.keys() & after.keys():
        a, b = before[name], after[name]
        if a.dtype != b.dtype and not np.can_cast(a.dtype, b.dtype, "safe"):
            problems.append(f"input {name}: dtype {a.dtype} -> {b.dtype}")
        if a.shape != b.shape:
            problems.append(f"input {name}: shape {list(a.shape)} -> {list(b.shape)}")
        if a.nullable and not b.nullable:
            problems.append(f"input {name}: no longer accepts missing values")
    if old.outputs != new.outputs:
        problems.append(
            "outputs changed: "
            f"{[asdict(c) for c in old.outputs]} -> {[asdict(c) for c in new.outputs]}"
        )
    return sorted(problems)


class SignatureError(WeightlineError):
    """Input that does not match a version's signature; the message names every feature at fault."""


_EXACT_FLOAT_INT = 2**53  # integers up to this convert to float64 without changing value


def _accepts(expected: str, column: pd.Series) -> bool:
    """Safe upcasts only: wider ints or floats, or integers that float64 holds exactly.

    Booleans, text, categories and dates are never converted to numbers, and nothing narrows.
    """
    actual = column.dtype
    if actual.name == expected:
        return True
    if not isinstance(actual, np.dtype) or actual.kind not in "iuf":
        return False
    target = np.dtype(expected)
    if actual.kind in "iu" and target.kind == "f":
        return len(column) == 0 or bool(column.abs().max() < _EXACT_FLOAT_INT)
    return bool(np.can_cast(actual, target, "safe"))


def _is_sequence(value: object) -> bool:
    return isinstance(value, list | tuple | np.ndarray)


def validate(signature: Signature, frame: pd.DataFrame, where: str) -> np.ndarray:
    """Check `frame` against the signature and return the model's input array (signature order).

    Refuses missing or extra columns, wrong dtypes (no coercion that could change a value), cells
    that are not single values, and missing values where training saw none.
    """
    expected = {c.name: c for c in signature.inputs}
    problems = []
    if missing := [name for name in expected if name not in frame.columns]:
        problems.append(f"missing columns: {', '.join(missing)}")
    if extra := [str(name) for name in frame.columns if name not in expected]:
        problems.append(f"extra columns: {', '.join(extra)}")
    present = [name for name in expected if name in frame.columns]
    if shaped := [
        n for n in present if frame[n].dtype == object and frame[n].map(_is_sequence).any()
    ]:
        problems.append(f"wrong shape (one value per row expected): {', '.join(shaped)}")
    typed = [
        f"{n} is {frame[n].dtype}, expected {expected[n].dtype}"
        for n in present
        if n not in shaped and not _accepts(expected[n].dtype, frame[n])
    ]
    if typed:
        problems.append("wrong dtypes: " + "; ".join(typed))
    gaps = [
        f"{n} ({int(frame[n].isna().sum())} rows)"
        for n in present
        if not expected[n].nullable and n not in shaped and frame[n].isna().any()
    ]
    if gaps:
        problems.append("missing values where none are allowed: " + ", ".join(gaps))
    if not len(frame):
        problems.append("no rows")
    if problems:
        raise SignatureError(
            f"input does not match the signature of {where}: " + "; ".join(problems)
        )
    return np.column_stack(
        [frame[c.name].to_numpy(dtype=np.dtype(c.dtype)) for c in signature.inputs]
    )
