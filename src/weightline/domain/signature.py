"""Model signatures: the contract between whoever sends data and the weights that receive it.

Derived from the training frame at training time (names, dtypes, shapes, whether NaN was seen) and
the target (the task; for classification the class names, in the order the model numbers them),
saved as models/signature.json and inside the safetensors header.

A signature written before tasks existed has neither `task` nor `classes`: it is read as what
those versions were, a binary classifier of the labels 0 and 1 with one `probability` output.
"""

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from weightline.errors import SignatureError

SCHEMA_VERSION = 1
METADATA_KEY = "weightline"
TASKS = ("binary", "multiclass", "regression")
LEGACY_CLASSES = (0, 1)  # what every signature without a `task` was trained on

Label = int | float | str | bool

__all__ = [
    "METADATA_KEY",
    "TASKS",
    "Column",
    "Label",
    "Signature",
    "SignatureError",
    "breaking_changes",
    "validate",
]


@dataclass(frozen=True)
class Column:
    name: str
    dtype: str  # a NumPy dtype name (float64, int64, bool, ...), or "str" for text labels
    shape: tuple[int, ...] = (-1,)  # -1: one value per row
    nullable: bool = False


def _dtype_name(dtype: object) -> str:
    """NumPy's name for a dtype; pandas' own dtypes (text, categories) by their pandas name."""
    try:
        return str(np.dtype(dtype).name)  # type: ignore[call-overload]
    except TypeError:
        return str(dtype)


def _plain(value: object) -> Label:
    """A NumPy scalar as the Python value JSON keeps (np.int64(1) -> 1)."""
    return value.item() if isinstance(value, np.generic) else value  # type: ignore[return-value]


def _inputs(features: pd.DataFrame) -> tuple[Column, ...]:
    return tuple(
        Column(str(name), _dtype_name(dtype), (-1,), bool(features[name].isna().any()))
        for name, dtype in features.dtypes.items()
    )


def _label_dtype(classes: tuple[Label, ...]) -> str:
    if all(isinstance(c, str) for c in classes):
        return "str"
    return np.asarray(classes).dtype.name


@dataclass(frozen=True)
class Signature:
    """What a version takes (inputs) and gives (outputs), and for which task.

    For classification the model numbers the classes 0..k-1 in the order of `classes`, and
    `predict` gives a `label` column plus one `probability_<class>` column per class; for
    regression it gives a `prediction` column.
    """

    inputs: tuple[Column, ...]
    outputs: tuple[Column, ...]
    task: str = "binary"
    classes: tuple[Label, ...] = LEGACY_CLASSES

    @classmethod
    def infer(cls, features: pd.DataFrame, outputs: dict[str, str]) -> "Signature":
        """Read the input side off the training frame; `outputs` maps output names to dtypes.

        The form of the first releases (a binary model of 0/1 labels); new training code calls
        `from_training`, which also records the task and the class names.
        """
        return cls(
            _inputs(features), tuple(Column(name, _dtype_name(d)) for name, d in outputs.items())
        )

    @classmethod
    def from_training(
        cls, features: pd.DataFrame, target: pd.Series | np.ndarray, task: str
    ) -> "Signature":
        """Inputs from the training frame; the task and its outputs from the target.

        Classification takes the classes from the target's distinct values, sorted: the model
        must number them in that order (see `class_index`). Inputs must be numeric: the model
        receives one array of numbers.
        """
        if task not in TASKS:
            raise SignatureError(f"unknown task {task!r}: use one of {', '.join(TASKS)}")
        dtypes = {str(name): _dtype_name(dtype) for name, dtype in features.dtypes.items()}
        if other := [
            f"{name} ({dtype})" for name, dtype in dtypes.items() if dtype not in _NUMERIC
        ]:
            raise SignatureError(
                "input columns must hold NumPy numbers (bool, int, float); these do not: "
                + ", ".join(other)
            )
        values = pd.Series(target)
        if values.isna().any():
            raise SignatureError(f"the target has {int(values.isna().sum())} missing values")
        if task == "regression":
            if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
                raise SignatureError(
                    f"a regression target must be numbers, not {_dtype_name(values.dtype)}"
                )
            return cls(_inputs(features), (Column("prediction", "float64"),), task, ())
        try:
            classes = tuple(_plain(c) for c in sorted(values.unique()))
        except TypeError:
            raise SignatureError(
                "the target mixes kinds of values (say numbers and text): use one kind"
            ) from None
        if task == "binary" and len(classes) != 2:
            raise SignatureError(
                f"a binary task needs exactly 2 classes; the target has {len(classes)}: "
                f"{_listing(classes)}"
            )
        if len(classes) < 2:
            raise SignatureError(f"a classifier needs 2 or more classes; the target has {classes}")
        probabilities = [Column(f"probability_{c}", "float64") for c in classes]
        outputs = (Column("label", _label_dtype(classes)), *probabilities)
        return cls(_inputs(features), outputs, task, classes)

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, str] | None) -> "Signature | None":
        """The signature in a safetensors header written with `metadata()`; None if absent."""
        if not metadata or METADATA_KEY not in metadata:
            return None
        return cls.from_dict(json.loads(metadata[METADATA_KEY])["signature"])

    @property
    def is_classifier(self) -> bool:
        return self.task != "regression"

    @property
    def input_shape(self) -> list[int]:
        return [-1, len(self.inputs)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "task": self.task,
            "classes": list(self.classes),
            "inputs": [asdict(c) | {"shape": list(c.shape)} for c in self.inputs],
            "input_shape": self.input_shape,
            "outputs": [asdict(c) | {"shape": list(c.shape)} for c in self.outputs],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Signature":
        def columns(items: list[dict[str, Any]]) -> tuple[Column, ...]:
            return tuple(
                Column(
                    i["name"], i["dtype"], tuple(i.get("shape", (-1,))), i.get("nullable", False)
                )
                for i in items
            )

        task = data.get("task", "binary")
        classes = tuple(data.get("classes", () if task == "regression" else LEGACY_CLASSES))
        return cls(columns(data["inputs"]), columns(data["outputs"]), task, classes)

    def metadata(self, **extra: str) -> dict[str, str]:
        """The safetensors header entry: one key holding JSON.

        safetensors writes several metadata keys in an arbitrary order, so two keys would make
        identical weights differ in bytes (and in SHA-256) from one run to the next.
        """
        value = {"signature": self.to_dict(), **extra}
        return {METADATA_KEY: json.dumps(value, sort_keys=True, separators=(",", ":"))}

    def check(self, frame: pd.DataFrame, where: str = "the input") -> np.ndarray:
        """`frame` checked against the inputs, as the model's input array (signature order).

        The same check, with the same messages, as every prediction through weightline: use it
        wherever rows reach the model (an evaluation on the hold-out set, a batch job).
        """
        return validate(self, frame, where)

    def class_index(self, labels: Iterable[Label]) -> np.ndarray:
        """Class names -> the numbers the model uses (0..k-1, in the order of `classes`)."""
        if not self.is_classifier:
            raise SignatureError("a regression signature has no classes")
        number = {c: i for i, c in enumerate(self.classes)}
        values = [_plain(v) for v in labels]
        if unknown := sorted({str(v) for v in values if v not in number}):
            raise SignatureError(
                f"labels the model was not trained on: {', '.join(unknown)} "
                f"(it knows {_listing(self.classes)})"
            )
        return np.array([number[v] for v in values], dtype=np.int64)

    def class_names(self, indices: Iterable[int]) -> list[Label]:
        """The model's class numbers -> class names, refusing numbers outside 0..k-1."""
        found = [int(i) for i in indices]
        if bad := sorted({i for i in found if not 0 <= i < len(self.classes)}):
            raise SignatureError(
                f"the model answered class numbers {bad}, but it has {len(self.classes)} classes "
                f"(0..{len(self.classes) - 1}: {_listing(self.classes)})"
            )
        return [self.classes[i] for i in found]


_NUMERIC = {"bool", "float16", "float32", "float64"} | {
    f"{sign}int{bits}" for sign in ("", "u") for bits in (8, 16, 32, 64)
}


def _listing(classes: Iterable[Label]) -> str:
    return ", ".join(str(c) for c in classes)


def breaking_changes(old: Signature, new: Signature) -> list[str]:
    """What a caller of `old` would break on with `new`; empty when `new` is compatible."""
    problems = []
    if old.task != new.task:
        problems.append(f"task: {old.task} -> {new.task}")
    if old.classes != new.classes:
        problems.append(f"classes: {list(old.classes)} -> {list(new.classes)}")
    before = {c.name: c for c in old.inputs}
    after = {c.name: c for c in new.inputs}
    if removed := [n for n in before if n not in after]:
        problems.append(f"inputs removed: {', '.join(removed)}")
    if added := [n for n in after if n not in before]:
        problems.append(f"inputs added: {', '.join(added)}")
    for name in before.keys() & after.keys():
        a, b = before[name], after[name]
        if a.dtype != b.dtype and not _widens(a.dtype, b.dtype):
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


def _widens(old: str, new: str) -> bool:
    try:
        return bool(np.can_cast(old, new, "safe"))
    except TypeError:  # a pandas dtype name NumPy does not know
        return False


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


def _infinite_rows(column: pd.Series) -> int:
    if not isinstance(column.dtype, np.dtype) or column.dtype.kind != "f":
        return 0
    return int(np.isinf(column.to_numpy()).sum())


def validate(signature: Signature, frame: pd.DataFrame, where: str) -> np.ndarray:
    """Check `frame` against the signature and return the model's input array (signature order).

    Refuses missing or extra columns, wrong dtypes (no coercion that could change a value), cells
    that are not single values, missing values where training saw none, and infinite numbers
    (training never sees them).
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
    if infinite := [f"{n} ({rows} rows)" for n in present if (rows := _infinite_rows(frame[n]))]:
        problems.append("infinite values (inf or -inf): " + ", ".join(infinite))
    if not len(frame):
        problems.append("no rows")
    if problems:
        raise SignatureError(
            f"input does not match the signature of {where}: " + "; ".join(problems)
        )
    return np.column_stack(
        [frame[c.name].to_numpy(dtype=np.dtype(c.dtype)) for c in signature.inputs]
    )
