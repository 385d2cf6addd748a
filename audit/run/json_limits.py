"""Bounded JSON reading: every JSON the verifier or the service reads goes through here.

Python's ``json`` module reads a 200,000-deep array with a `RecursionError`, a 5,000-digit
integer with a `ValueError`, and a 100 MB file whole. Here each of those is a `FormatError`
(an `AuditError`) with a one-line message, found before the decoder runs:

* ``MAX_JSON_DEPTH`` (64): nesting of arrays and objects. A run record is 3 levels deep and
  a bundle 4; the margin is for records that grow.
* ``MAX_INT_DIGITS`` (20): digits of an integer literal, enough for any uint64 (tree sizes,
  indexes). Records allow only +-(2**53 - 1) anyway (`canonical_json`).
* ``MAX_RECORD_BYTES`` (1 MiB): one record leaf in canonical JSON (a round record of 64
  partners is a few tens of KiB).
* ``MAX_BUNDLE_BYTES`` (8 MiB): one proof bundle file: two leaves in base64, two proofs of at
  most 64 hashes, a checkpoint with at most `MAX_SIGNATURES` (1,000) signatures.

Also refused: NaN and infinities, duplicate object keys, text that is not UTF-8.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

from audit.merkle import FormatError

__all__ = [
    "MAX_BUNDLE_BYTES",
    "MAX_INT_DIGITS",
    "MAX_JSON_DEPTH",
    "MAX_RECORD_BYTES",
    "loads_limited",
    "read_json_file",
]

MAX_JSON_DEPTH = 64
MAX_INT_DIGITS = 20
MAX_RECORD_BYTES = 1 << 20
MAX_BUNDLE_BYTES = 8 << 20

# A JSON string (escapes consumed pairwise) or a bracket. Scanning left to right, a quote
# outside a string always opens one, so brackets inside strings are never counted; where the
# text is not JSON the decoder stops at the same place or earlier.
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


def _check_depth(text: str, where: str, max_depth: int) -> None:
    depth = 0
    for match in _TOKEN.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > max_depth:
                raise FormatError(f"{where}: JSON nested deeper than {max_depth} levels")
        elif token in "]}":
            depth -= 1


def _parse_int(where: str) -> Any:
    def parse(literal: str) -> int:
        if len(literal.lstrip("-")) > MAX_INT_DIGITS:
            raise FormatError(
                f"{where}: an integer of {len(literal.lstrip('-'))} digits "
                f"(at most {MAX_INT_DIGITS})"
            )
        return int(literal)

    return parse


def _no_constant(where: str) -> Any:
    def parse(name: str) -> None:
        raise FormatError(f"{where}: {name} is not a JSON number")

    return parse


def _unique_keys(where: str) -> Any:
    def build(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in pairs:
            if key in out:
                raise FormatError(f"{where}: key {key[:40]!r} appears twice in one object")
            out[key] = value
        return out

    return build


def loads_limited(
    data: str | bytes, *, where: str, max_bytes: int, max_depth: int = MAX_JSON_DEPTH
) -> Any:
    """Decode JSON within the limits of the module docstring.

    Raises:
        FormatError: naming ``where``: too large, too deep, an integer too long, NaN or an
            infinity, a repeated key, not UTF-8 or not JSON.
    """
    if len(data) > max_bytes:
        raise FormatError(f"{where}: {len(data)} bytes, above the limit of {max_bytes}")
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise FormatError(f"{where}: not UTF-8 (byte {exc.start})") from None
    _check_depth(data, where, max_depth)
    try:
        return json.loads(
            data,
            parse_int=_parse_int(where),
            parse_constant=_no_constant(where),
            object_pairs_hook=_unique_keys(where),
        )
    except json.JSONDecodeError as exc:
        raise FormatError(
            f"{where}: not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from None
    except RecursionError:  # the depth check makes this unreachable; never a traceback
        raise FormatError(f"{where}: JSON nested too deep") from None


def read_json_file(
    path: str | os.PathLike[str], *, max_bytes: int, max_depth: int = MAX_JSON_DEPTH
) -> Any:
    """Read and decode a JSON file of at most ``max_bytes`` bytes (never more is read, even
    from a device or a pipe).

    Raises:
        FormatError: as `loads_limited`, naming the file. OSError: the file cannot be read.
    """
    where = os.fspath(path)
    with open(path, "rb") as stream:
        data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise FormatError(f"{where}: larger than the limit of {max_bytes} bytes")
    return loads_limited(data, where=where, max_bytes=max_bytes, max_depth=max_depth)
