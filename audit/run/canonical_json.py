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
from audit.run.json_limits import MAX_JSON_DEPTH, MAX_RECORD_BYTES, loads_limited

__all__ = ["MAX_SAFE_INTEGER", "canonical_json", "check_canonical_safe", "parse_canonical"]

MAX_SAFE_INTEGER = 2**53 - 1
"""Largest integer that every JSON reader (IEEE doubles included) reads back exactly."""


def check_canonical_safe(value: Any, where: str = "record", depth: int = 0) -> None:
    """Raise `RecordError` naming the path of the first value JSON cannot carry exactly, or
    of a list or object nested deeper than ``MAX_JSON_DEPTH``."""
    if depth > MAX_JSON_DEPTH:
        raise RecordError(f"{where}: nested deeper than {MAX_JSON_DEPTH} levels")
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
            check_canonical_safe(item, f"{where}[{position}]", depth + 1)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise RecordError(f"{where}: key {key!r} is not a string")
            check_canonical_safe(item, f"{where}.{key}", depth + 1)
        return
    raise RecordError(f"{where}: a {type(value).__name__} has no canonical JSON form")


def canonical_json(value: Any) -> bytes:
    """Encode ``value`` canonically; raises `RecordError` for values JSON cannot carry and
    for an encoding above ``MAX_RECORD_BYTES``."""
    check_canonical_safe(value)
    data = json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")
    if len(data) > MAX_RECORD_BYTES:
        raise RecordError(f"record: {len(data)} bytes, above the limit of {MAX_RECORD_BYTES}")
    return data


def parse_canonical(data: bytes) -> Any:
    """Decode bytes that must be canonical JSON, within `json_limits` (at most
    ``MAX_RECORD_BYTES``, ``MAX_JSON_DEPTH`` deep); raises `FormatError` otherwise."""
    value = loads_limited(data, where="leaf", max_bytes=MAX_RECORD_BYTES)
    try:
        again = canonical_json(value)
    except RecordError as exc:
        raise FormatError(str(exc)) from exc
    if again != data:
        raise FormatError("JSON is not in canonical form (sorted keys, no spaces, UTF-8)")
    return value
