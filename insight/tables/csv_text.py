"""Reading delimited text into string columns, keeping each record's line number."""

from __future__ import annotations

import csv
import io
import os

import numpy as np
import pandas as pd

from insight.errors import DataError
from insight.tables.source import decode_text, read_source_bytes

__all__ = ["read_csv_records"]


def read_csv_records(
    path: str | os.PathLike[str],
    *,
    encoding: str = "utf-8",
    delimiter: str = ",",
) -> tuple[pd.DataFrame, np.ndarray]:
    """Read a delimited file (plain or gzip) with a header row into text columns.

    Returns the frame (every cell a stripped-of-nothing ``str``; blank lines skipped) and, for
    each record, the 1-based line on which it starts (the header is line 1 when it is the
    first line).

    Raises:
        DataError: for a missing, empty or undecodable file, a header without data rows, or
            a record whose field count differs from the header's (naming the first missing
            column, or the line for an extra field).
    """
    source = str(path)
    raw = read_source_bytes(path)
    header_holder: list[str] = []

    def locate_column(prefix: str) -> str | None:
        index = len(next(csv.reader([prefix], delimiter=delimiter), [""])) - 1
        return header_holder[index] if 0 <= index < len(header_holder) else None

    # The header is needed to name a column in a decoding error further down the file.
    first_line = raw.split(b"\n", 1)[0].decode(encoding, errors="replace").lstrip("\ufeff")
    header_holder.extend(h.strip() for h in next(csv.reader([first_line], delimiter=delimiter)))
    text = decode_text(raw, source=source, encoding=encoding, locate_column=locate_column)

    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    header: list[str] | None = None
    header_line = 0
    cells: list[list[str]] = []
    lines: list[int] = []
    previous_end = 0
    try:
        for record in reader:
            start, previous_end = previous_end + 1, reader.line_num
            if not record or all(not cell.strip() for cell in record):
                continue
            if header is None:
                header = [name.strip() for name in record]
                header_line = start
                _check_unique(header, source=source, line=start)
                continue
            if len(record) != len(header):
                raise _field_count_error(record, header, source=source, line=start)
            cells.append(record)
            lines.append(start)
    except csv.Error as exc:
        raise DataError(f"malformed CSV ({exc})", source=source, line=reader.line_num) from None
    if header is None:
        raise DataError("file is empty", source=source)
    if not cells:
        raise DataError("header but no data rows", source=source, line=header_line)
    columns = list(zip(*cells, strict=True))
    frame = pd.DataFrame(
        {name: np.array(column, dtype=object) for name, column in zip(header, columns, strict=True)}
    )
    return frame, np.asarray(lines, dtype=np.int64)


def _check_unique(header: list[str], *, source: str, line: int) -> None:
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise DataError(
                "duplicate column name in header", source=source, line=line, column=name
            )
        seen.add(name)


def _field_count_error(
    record: list[str], header: list[str], *, source: str, line: int
) -> DataError:
    if len(record) < len(header):
        return DataError(
            f"missing field: expected {len(header)} fields, found {len(record)}",
            source=source,
            line=line,
            column=header[len(record)],
        )
    return DataError(
        f"extra field: expected {len(header)} fields, found {len(record)}",
        source=source,
        line=line,
    )
