"""The structure of a proof bundle, checked strictly before anything in it is used.

`check_bundle` takes any decoded JSON value and either returns it as a bundle whose every
field has the right type and a bounded size, or raises `FormatError` naming the first field
that is missing, unknown or wrong (``entries: a list of 2 objects, not int``). The verifier
then needs no ``try`` around a key lookup or a type.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from audit.merkle import MAX_SIGNATURES, FormatError
from audit.run.canonical_json import MAX_SAFE_INTEGER
from audit.run.json_limits import MAX_RECORD_BYTES

__all__ = ["BUNDLE_ENTRY_FIELDS", "BUNDLE_FIELDS", "check_bundle"]

_MAX_INDEX = 2**64 - 2
"""Largest leaf index (below a tree size of at most 2**64 - 1)."""
_MAX_PROOF = 64
"""Most hashes in an inclusion proof (a tree of at most 2**64 leaves)."""
_MAX_LINE = 1024
"""Longest origin or verifier key."""
_MAX_NOTE = _MAX_LINE + 64 + (MAX_SIGNATURES + 1) * (_MAX_LINE + 128)
"""Longest signed checkpoint note: three lines and at most ``MAX_SIGNATURES`` signatures."""

Check = Callable[[Any, str], None]


def _name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _text(limit: int) -> Check:
    def check(value: Any, where: str) -> None:
        if not isinstance(value, str):
            raise FormatError(f"{where}: a string, not {_name(value)}")
        if len(value) > limit:
            raise FormatError(f"{where}: {len(value)} characters, above the limit of {limit}")

    return check


def _integer(low: int, high: int) -> Check:
    def check(value: Any, where: str) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            raise FormatError(f"{where}: an integer, not {_name(value)}")
        if not low <= value <= high:
            raise FormatError(f"{where}: an integer in {low}..{high}")

    return check


def _proof(value: Any, where: str) -> None:
    if not isinstance(value, list):
        raise FormatError(f"{where}: a list of base64 hashes, not {_name(value)}")
    if len(value) > _MAX_PROOF:
        raise FormatError(f"{where}: {len(value)} hashes, above the limit of {_MAX_PROOF}")
    for position, item in enumerate(value):
        _text(64)(item, f"{where}[{position}]")


BUNDLE_ENTRY_FIELDS: Mapping[str, Check] = {
    "index": _integer(0, _MAX_INDEX),
    "leaf": _text(4 * (MAX_RECORD_BYTES // 3 + 1)),
    "inclusion_proof": _proof,
}
"""Each field of an entry and its check."""


def _object(value: Any, where: str, fields: Mapping[str, Check]) -> None:
    if not isinstance(value, dict):
        raise FormatError(f"{where}: a JSON object, not {_name(value)}")
    missing = [name for name in fields if name not in value]
    if missing:
        raise FormatError(f"{where}: missing {', '.join(missing)}")
    unknown = sorted(str(name)[:40] for name in value if name not in fields)
    if unknown:
        raise FormatError(f"{where}: unknown field {', '.join(unknown)}")
    for name, check in fields.items():
        check(value[name], f"{where}.{name}" if where != "bundle" else name)


def _entries(value: Any, where: str) -> None:
    if not isinstance(value, list) or len(value) != 2:
        shown = f"{len(value)} items" if isinstance(value, list) else _name(value)
        raise FormatError(
            f"{where}: a list of 2 objects (the run start and the round), not {shown}"
        )
    for position, item in enumerate(value):
        _object(item, f"{where}[{position}]", BUNDLE_ENTRY_FIELDS)


BUNDLE_FIELDS: Mapping[str, Check] = {
    "format": _text(64),
    "origin": _text(_MAX_LINE),
    "round": _integer(1, MAX_SAFE_INTEGER),
    "coordinator_vkey": _text(_MAX_LINE),
    "checkpoint": _text(_MAX_NOTE),
    "entries": _entries,
    "tlog_proof": _text(_MAX_NOTE + 64 + _MAX_PROOF * 48),
}
"""Each top-level field of a bundle and its check; no other field is allowed."""


def check_bundle(data: Any, expected_format: str) -> dict[str, Any]:
    """Return ``data`` if it is a bundle of ``expected_format`` with exactly the fields of
    ``BUNDLE_FIELDS``, each of the right type and size.

    Raises:
        FormatError: naming the first field that is missing, unknown or wrong.
    """
    if not isinstance(data, dict):
        raise FormatError(f"bundle: a JSON object, not {_name(data)}")
    if data.get("format") != expected_format:
        shown = data.get("format")
        raise FormatError(
            f"bundle: format {str(shown)[:64]!r}, not {expected_format!r}"
            if isinstance(shown, str)
            else f"bundle: not a {expected_format} file (no format field)"
        )
    _object(data, "bundle", BUNDLE_FIELDS)
    return data
