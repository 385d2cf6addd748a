"""Reading a text source: gzip detection, strict decoding, and error locations."""

from __future__ import annotations

import gzip
import io
import os
import zlib
from collections.abc import Callable
from pathlib import Path

from insight.errors import DataError

__all__ = ["decode_text", "gunzip_if_needed", "open_bytes", "read_source_bytes"]

_GZIP_MAGIC = b"\x1f\x8b"

# Maps the decoded start of a line (up to a bad byte) to the column the byte falls in.
ColumnLocator = Callable[[str], str | None]


def read_source_bytes(path: str | os.PathLike[str]) -> bytes:
    """Read ``path`` whole, gunzipping it when it starts with the gzip magic number.

    Raises:
        DataError: when the file is missing, unreadable or a corrupt gzip stream.
    """
    source = str(path)
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise DataError("file not found", source=source) from None
    except IsADirectoryError:
        raise DataError("is a directory, not a file", source=source) from None
    except OSError as exc:
        raise DataError(f"cannot read file ({exc.strerror})", source=source) from None
    return gunzip_if_needed(raw, source=source)


def open_bytes(path: Path) -> io.BufferedIOBase:
    """The file's bytes, decompressed on the fly when its name ends in ``.gz``."""
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rb")
    return path.open("rb")


def gunzip_if_needed(raw: bytes, *, source: str) -> bytes:
    """Decompress ``raw`` if it is gzip data, else return it unchanged."""
    if not raw.startswith(_GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"corrupt gzip data ({exc})", source=source) from None


def decode_text(
    raw: bytes,
    *,
    source: str,
    encoding: str = "utf-8",
    locate_column: ColumnLocator | None = None,
) -> str:
    """Decode ``raw`` strictly, dropping a leading byte-order mark.

    Raises:
        DataError: if the source is empty (or only whitespace), or holds bytes that are not
            valid ``encoding``; the latter names the line and, when ``locate_column`` can
            tell, the column of the first bad byte.
    """
    if not raw.strip():
        raise DataError("file is empty", source=source)
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        line_start = raw.rfind(b"\n", 0, exc.start) + 1
        line = raw.count(b"\n", 0, exc.start) + 1
        prefix = raw[line_start : exc.start].decode(encoding, errors="replace")
        column = locate_column(prefix) if locate_column is not None else None
        raise DataError(
            f"byte 0x{raw[exc.start]:02x} is not valid {encoding} text; "
            f"re-encode the file as {encoding}",
            source=source,
            line=line,
            column=column,
        ) from None
    except LookupError:
        raise ValueError(f"unknown encoding {encoding!r}") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text.strip():
        raise DataError("file is empty", source=source)
    return text
