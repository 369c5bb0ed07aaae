"""Request bodies checked against a version's signature before any model sees them.

A body is JSON records (`[{"f1": 1.0, ...}, ...]`) or columns (`{"f1": [...], ...}`). Each
version gets its own validator, compiled once from its signature with pydantic-core: strict types
(no "1.5" strings, no booleans for numbers), no missing or extra features, finite numbers only.
Checking a single row this way costs microseconds, where building a DataFrame and checking it
column by column costs milliseconds; the result is the same refusal, naming every feature at fault.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic_core import SchemaValidator, ValidationError
from pydantic_core import core_schema as cs

from weightline.domain.signature import Signature
from weightline.errors import WeightlineError

MAX_DETAILS = 20  # a 10,000-row batch missing one feature is one problem, not 10,000


class InvalidInput(WeightlineError):
    """A body that does not match the signature; `details` are FastAPI-style error entries."""

    def __init__(self, message: str, details: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.details = details


@dataclass(frozen=True)
class Batch:
    """Validated rows as columns in signature order, and a digest of the body for the log."""

    columns: dict[str, list[Any]]
    rows: int
    digest: str


def _field(dtype: str, nullable: bool) -> cs.CoreSchema:
    kind = np.dtype(dtype).kind
    schema: cs.CoreSchema
    if kind == "f":
        schema = cs.float_schema(allow_inf_nan=False, strict=True)
    elif kind in "iu":
        schema = cs.int_schema(strict=True, ge=0 if kind == "u" else None)
    elif kind == "b":
        schema = cs.bool_schema(strict=True)
    else:
        schema = cs.str_schema(strict=True)
    return cs.nullable_schema(schema) if nullable else schema


def _json_type(dtype: str) -> dict[str, str]:
    kind = np.dtype(dtype).kind
    return {
        "f": {"type": "number"},
        "i": {"type": "integer"},
        "u": {"type": "integer"},
        "b": {"type": "boolean"},
    }.get(kind, {"type": "string"})


class InputSchema:
    """The validator of one signature, for records and for columns."""

    def __init__(self, signature: Signature, where: str) -> None:
        self.signature = signature
        self.where = where
        self.names = [column.name for column in signature.inputs]
        fields = {c.name: _field(c.dtype, c.nullable) for c in signature.inputs}
        self._records = SchemaValidator(
            cs.list_schema(
                cs.typed_dict_schema(
                    {n: cs.typed_dict_field(f) for n, f in fields.items()},
                    extra_behavior="forbid",
                ),
                min_length=1,
            )
        )
        self._columns = SchemaValidator(
            cs.typed_dict_schema(
                {
                    n: cs.typed_dict_field(cs.list_schema(f, min_length=1))
                    for n, f in fields.items()
                },
                extra_behavior="forbid",
            )
        )

    def parse(self, body: bytes) -> Batch:
        """The body's rows, or InvalidInput naming every feature that is missing, extra,
        mistyped or not finite."""
        start = body.lstrip()[:1]
        digest = hashlib.sha256(body).hexdigest()
        try:
            if start == b"[":
                records = self._records.validate_json(body)
                columns = {name: [row[name] for row in records] for name in self.names}
                return Batch(columns, len(records), digest)
            if start == b"{":
                given = self._columns.validate_json(body)
                columns = {name: given[name] for name in self.names}
                lengths = {name: len(values) for name, values in columns.items()}
                if len(set(lengths.values())) > 1:
                    detail = [
                        {"loc": ["body", n], "msg": f"{k} values", "type": "column_length"}
                        for n, k in lengths.items()
                    ][:MAX_DETAILS]
                    raise InvalidInput(self._message("columns of different lengths"), detail)
                return Batch(columns, next(iter(lengths.values())), digest)
        except ValidationError as error:
            raise self._refusal(error) from None
        raise InvalidInput(
            self._message(
                "the body must be JSON records [{feature: value, ...}] or columns "
                "{feature: [values]}"
            ),
            [{"loc": ["body"], "msg": "expected a JSON list or object", "type": "body_shape"}],
        )

    def _message(self, problems: str) -> str:
        return f"input does not match the signature of {self.where}: {problems}"

    def _refusal(self, error: ValidationError) -> InvalidInput:
        """One entry per (feature, problem), with the rows it affects counted."""
        grouped: dict[tuple[str, str], dict[str, Any]] = {}
        for entry in error.errors(include_url=False):
            loc = [part for part in entry["loc"] if isinstance(part, str)]
            feature = loc[0] if loc else ""
            key = (feature, entry["type"])
            if key not in grouped:
                grouped[key] = {
                    "loc": ["body", *entry["loc"]],
                    "msg": entry["msg"],
                    "type": entry["type"],
                    "feature": feature or None,
                    "count": 0,
                }
            grouped[key]["count"] += 1
        details = list(grouped.values())
        return InvalidInput(self._message(_summary(details, self.signature)), details[:MAX_DETAILS])

    def json_schema(self) -> dict[str, Any]:
        """The request body for OpenAPI: records or columns of this signature's features."""
        properties = {
            c.name: _json_type(c.dtype) | ({"nullable": True} if c.nullable else {})
            for c in self.signature.inputs
        }
        row = {
            "type": "object",
            "properties": properties,
            "required": self.names,
            "additionalProperties": False,
        }
        columns = {
            "type": "object",
            "properties": {n: {"type": "array", "items": p} for n, p in properties.items()},
            "required": self.names,
            "additionalProperties": False,
        }
        return {
            "oneOf": [
                {"title": "records", "type": "array", "items": row, "minItems": 1},
                {"title": "columns", **columns},
            ]
        }


def _summary(details: list[dict[str, Any]], signature: Signature) -> str:
    """'missing features: a, b; extra features: c; wrong type: d (expected float64)'."""
    dtypes = {c.name: c.dtype for c in signature.inputs}
    missing = [d["feature"] for d in details if d["type"] == "missing"]
    extra = [d["feature"] for d in details if d["type"] == "extra_forbidden"]
    finite = [d["feature"] for d in details if d["type"] == "finite_number"]
    other = [
        d
        for d in details
        if d["type"] not in ("missing", "extra_forbidden", "finite_number") and d["feature"]
    ]
    parts = []
    if missing:
        parts.append(f"missing features: {', '.join(missing)}")
    if extra:
        parts.append(f"extra features: {', '.join(extra)}")
    if other:
        parts.append(
            "wrong types: "
            + "; ".join(
                f"{d['feature']} ({d['msg'].lower()}, expected {dtypes.get(d['feature'], '?')})"
                for d in other
            )
        )
    if finite:
        parts.append(f"not finite (NaN, Infinity or out of range): {', '.join(finite)}")
    if not parts:
        parts = [f"{d['msg']}" for d in details]
    return "; ".join(parts)
