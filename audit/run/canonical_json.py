"""Canonical JSON: the one byte encoding of a record that goes into a leaf.

Keys sorted, no insignificant whitespace, UTF-8, numbers as Python writes them (integers
as-is, floats in the shortest form that round-trips). Only values that survive a round trip
unchanged are accepted: strings, booleans, null, integers within +-(2**53 - 1), finite
floats, lists, and objects with string keys.
"""

from __future__ import annotations

import json
import math
from typing import Any

from audit.merkle import FormatError
from audit.run.errors import RecordError

__all__ = ["MAX_SAFE_INTEGER", "canonical_json", "check_canonical_safe", "parse_canonical"]

MAX_SAFE_INTEGER = 2**53 - 1
"""Largest integer that every JSON reader (IEEE doubles included) reads back exactly."""


def check_canonical_safe(value: Any, where: str = "record") -> None:
    """Raise `RecordError` naming the path of the first value JSON cannot carry exactly."""
    if value is None or isinstance(value, bool | str):
        return
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise RecordError(f"{where}: integer {value} is beyond +-(2**53 - 1)")
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise RecordError(f"{where}: {value} is not a finite number")
        return
    if isinstance(value, list | tuple):
        for position, item in enumerate(value):
            check_canonical_safe(item, f"{where}[{position}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise RecordError(f"{where}: key {key!r} is not a string")
            check_canonical_safe(item, f"{where}.{key}")
        return
    raise RecordError(f"{where}: a {type(value).__name__} has no canonical JSON form")


def canonical_json(value: Any) -> bytes:
    """Encode ``value`` canonically; raises `RecordError` for values JSON cannot carry."""
    check_canonical_safe(value)
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def _reject_constant(name: str) -> None:
    raise FormatError(f"{name} is not JSON")


def parse_canonical(data: bytes) -> Any:
    """Decode bytes that must be canonical JSON; raises `FormatError` otherwise."""
    try:
        value = json.loads(data.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FormatError(f"not UTF-8 JSON: {exc}") from exc
    try:
        again = canonical_json(value)
    except RecordError as exc:
        raise FormatError(str(exc)) from exc
    if again != data:
        raise FormatError("JSON is not in canonical form (sorted keys, no spaces, UTF-8)")
    return value
