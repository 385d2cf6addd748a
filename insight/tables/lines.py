"""A CSV file as lines: one bounded streaming scan, and where each record starts.

The scan runs before pandas reads the file, so that a file pandas would take into unbounded
memory (one enormous line) or reject with an opaque error (bytes that are not UTF-8) gets a
message that names the line. Lines are counted as a text editor counts them: from 1, so the
header is line 1 when it is the file's first line.

Every message names the file, the line and at most a field's position, never a cell's value:
a partner's messages reach the coordinator and its logs.
"""

from __future__ import annotations

import csv
import io
import zlib
from collections.abc import Iterator
from pathlib import Path

from insight.errors import DataError
from insight.tables.source import open_bytes

__all__ = [
    "MAX_LINE_BYTES",
    "data_line",
    "ends_quoted",
    "header_names",
    "located",
    "parse_record",
    "records",
    "scan_text",
    "size_text",
]

MAX_LINE_BYTES = 1 << 20
"""Longest CSV line accepted, in bytes without its line break: 1 MiB, far above any event."""

_BLOCK_BYTES = 1 << 20
_QUOTE = b'"'


def located(
    source: str,
    what: str,
    *,
    line: int | None = None,
    column: str | None = None,
    unit: str = "line",
) -> DataError:
    """``"<source>, line <line>, column '<column>': <what>"``; unknown parts left out.

    `unit` is ``"row"`` for files without lines (Parquet): the 1-based data row.
    """
    return DataError(what, source=source, line=line, column=column, unit=unit)


def size_text(n_bytes: int) -> str:
    """``1 MiB`` for whole mebibytes, else ``N bytes``."""
    if n_bytes >= 1 << 20 and n_bytes % (1 << 20) == 0:
        return f"{n_bytes >> 20} MiB"
    return f"{n_bytes:,} bytes"


def scan_text(path: Path, *, max_line_bytes: int = MAX_LINE_BYTES) -> None:
    """Check in one streaming pass that `path` holds UTF-8 text with lines of bounded length.

    Holds a few times `max_line_bytes` of the file at a time (at most about 4 MiB with the
    default limit), whatever the file's size.

    Raises:
        DataError: for an empty (0-byte) or unreadable file, a line longer than
            `max_line_bytes` (naming the line and the limit) or bytes that are not UTF-8
            (naming the line and the field).
    """
    source = str(path)
    # With blocks no longer than the limit, a line inside a block is within the limit: only
    # a line that starts in an earlier block (the carry) can exceed it.
    block_size = max(1, min(_BLOCK_BYTES, max_line_bytes))
    line = 1
    carry = b""
    empty = True
    try:
        with open_bytes(path) as fh:
            while block := fh.read(block_size):
                empty = False
                chunk = carry + block if carry else block
                cut = chunk.rfind(b"\n") + 1
                if cut:
                    if chunk.find(b"\n") > max_line_bytes:
                        raise _too_long(source, line, max_line_bytes)
                    _check_utf8(chunk[:cut], source, line)
                    line += chunk.count(b"\n", 0, cut)
                    carry = chunk[cut:]
                else:
                    carry = chunk
                if len(carry) > max_line_bytes:
                    raise _too_long(source, line, max_line_bytes)
            if carry:
                _check_utf8(carry, source, line)
    except (OSError, EOFError, zlib.error) as exc:
        # gzip's errors are OSError and EOFError; the text is the library's, not the data's.
        raise located(source, f"cannot read the file ({type(exc).__name__})") from None
    if empty:
        raise located(source, "the file is empty (0 bytes); expected a header line and events")


def _too_long(source: str, line: int, max_line_bytes: int) -> DataError:
    return located(
        source,
        f"line longer than the limit of {size_text(max_line_bytes)}; "
        "each line should hold one event",
        line=line,
    )


def _check_utf8(lines: bytes, source: str, first_line: int) -> None:
    """`lines` is whole lines (a line break never falls inside a UTF-8 sequence)."""
    try:
        lines.decode("utf-8")
    except UnicodeDecodeError as exc:
        line_start = lines.rfind(b"\n", 0, exc.start) + 1
        prefix = lines[line_start : exc.start].decode("utf-8", errors="replace")
        field = len(next(csv.reader([prefix]), [""]))
        raise located(
            source,
            f"bytes that are not valid UTF-8 text in field {field}; save the file as UTF-8",
            line=first_line + lines.count(b"\n", 0, exc.start),
        ) from None


def ends_quoted(text: bytes, *, quoted: bool = False) -> bool:
    """Whether a quoted field is still open at the end of `text` (`quoted`: open at its start).

    As pandas and the csv module read CSV: a quote opens a field only at the field's start,
    ``""`` inside a quoted field is a literal quote, and any other quote is a literal.
    """
    at = 0
    while (found := text.find(_QUOTE, at)) >= 0:
        at = found + 1
        if quoted:
            if text.startswith(_QUOTE, at):
                at += 1
            else:
                quoted = False
        elif found == 0 or text[found - 1 : found] in (b",", b"\n"):
            quoted = True
    return quoted


def records(path: Path) -> Iterator[tuple[int, bytes]]:
    """Each non-blank CSV record and the line it starts on; the header comes first.

    A quoted field may span lines; blank (whitespace-only) lines are skipped, as pandas
    skips them. Requires a file `scan_text` accepted (lines are bounded).
    """
    with open_bytes(path) as fh:
        parts: list[bytes] = []
        start = 0
        quoted = False
        for number, line in enumerate(fh, start=1):
            if not parts:
                if not line.strip():
                    continue
                start = number
            parts.append(line)
            quoted = ends_quoted(line, quoted=quoted)
            if not quoted:
                yield start, b"".join(parts)
                parts = []
        if parts:
            yield start, b"".join(parts)


def parse_record(record: bytes) -> list[str]:
    """The fields of one record, as the csv module reads them."""
    text = record.decode("utf-8", errors="replace").lstrip("\ufeff")
    return next(csv.reader(io.StringIO(text, newline="")), [])


def header_names(path: Path) -> tuple[int, list[str]] | None:
    """The header's line and column names, or None for a file of blank lines."""
    for start, record in records(path):
        return start, parse_record(record)
    return None


def data_line(path: Path, row: int) -> int | None:
    """The line on which data row `row` (0-based, the header not counted) starts."""
    for index, (start, _) in enumerate(records(path)):
        if index == row + 1:
            return start
    return None
