"""Field checks shared by the record types; each raises `RecordError` naming the field."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Set
from datetime import UTC, datetime
from typing import Any

from audit.run.errors import RecordError

__all__ = [
    "PARTNER_ID",
    "check_fields",
    "check_hash",
    "check_id_list",
    "check_id_map",
    "check_int",
    "check_number",
    "check_time",
    "time_of",
]

PARTNER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z")


def check_fields(
    record: Mapping[str, Any], required: Set[str], optional: Set[str], kind: str
) -> None:
    """Every required field present, nothing beyond required and optional."""
    missing = sorted(required - set(record))
    if missing:
        raise RecordError(f"{kind} record: missing {', '.join(missing)}")
    unknown = sorted(set(record) - required - optional)
    if unknown:
        raise RecordError(f"{kind} record: unknown field {', '.join(unknown)}")


def check_hash(value: Any, where: str) -> str:
    """A lowercase hex SHA-256 digest."""
    if not isinstance(value, str) or not _HEX64.fullmatch(value):
        raise RecordError(f"{where}: a SHA-256 digest as 64 lowercase hex digits")
    return value


def check_int(value: Any, where: str, *, minimum: int) -> int:
    """An integer (not a boolean) of at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise RecordError(f"{where}: an integer of at least {minimum}")
    return value


def check_number(value: Any, where: str) -> float:
    """A finite, non-negative number (not a boolean)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value < 0
    ):
        raise RecordError(f"{where}: a finite non-negative number")
    return float(value)


def check_time(value: Any, where: str) -> str:
    """A UTC time written ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z``."""
    time_of(value, where)
    return str(value)


def time_of(value: Any, where: str) -> datetime:
    """The aware UTC datetime of a time `check_time` accepts. Times are compared as datetimes:
    as text, ``...:00Z`` sorts after ``...:00.5Z``."""
    if not isinstance(value, str) or not _TIME.fullmatch(value):
        raise RecordError(f"{where}: a UTC time such as 2025-01-31T12:00:00Z")
    try:
        return datetime.fromisoformat(value).astimezone(UTC)
    except ValueError:
        raise RecordError(f"{where}: {value} is not a real time") from None


def _check_id(value: Any, where: str) -> str:
    if not isinstance(value, str) or not PARTNER_ID.fullmatch(value):
        raise RecordError(f"{where}: a partner id of letters, digits, '.', '_' or '-' (at most 64)")
    return value


def check_id_list(value: Any, where: str) -> list[str]:
    """A sorted list of distinct partner ids."""
    if not isinstance(value, list):
        raise RecordError(f"{where}: a list of partner ids")
    ids = [_check_id(item, f"{where}[{n}]") for n, item in enumerate(value)]
    if ids != sorted(set(ids)):
        raise RecordError(f"{where}: partner ids sorted and without repeats")
    return ids


def check_id_map(value: Any, where: str) -> dict[str, Any]:
    """An object keyed by partner ids."""
    if not isinstance(value, dict):
        raise RecordError(f"{where}: an object keyed by partner id")
    for key in value:
        _check_id(key, f"{where} key {key!r}")
    return value
