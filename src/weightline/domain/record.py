"""Plain values without `dataclasses`: importing it (with inspect, ast and dis) and decorating a
class cost a rollback by links 20 ms of about 100 (benchmarks/restore_speed.py).

A record names its fields in FIELDS, in its constructor's order, makes them its `__slots__`
and sets them in its own `__init__`, so the type checker sees the constructor. It is equal to a
record of its class with equal fields, hashes as they do, and shows as `Name(field=value, ...)`.
Records are never changed once made.
"""

from __future__ import annotations


class Record:
    FIELDS: tuple[str, ...] = ()
    __slots__ = ()

    def values(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in self.FIELDS)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Record)
            and type(other) is type(self)
            and self.values() == other.values()
        )

    def __hash__(self) -> int:
        return hash(self.values())

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.FIELDS)
        return f"{type(self).__name__}({shown})"
