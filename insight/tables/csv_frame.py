"""Reading a private CSV file (a partner's) into a frame, after a bounded scan of its lines.

pandas reads the file and infers each column's type, except the columns named as text (ids
keep their leading zeros). Before it does, `scan_text` checks the lines' length and encoding,
so that one enormous line or a byte that is not UTF-8 gets a message naming its line; after a
tokenizer error, the csv module finds the line again.

Notes:
    Messages never hold a cell's value or pandas' own text (it may quote a cell); a column
    name is shown only when the caller knows it, since a file without a header line has data
    where names belong.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from pathlib import Path

import pandas as pd

from insight.errors import DataError
from insight.tables.lines import (
    MAX_LINE_BYTES,
    ends_quoted,
    header_names,
    located,
    parse_record,
    records,
    scan_text,
)
from insight.tables.names import check_unique_names

__all__ = ["read_csv_frame"]


def read_csv_frame(
    path: str | os.PathLike[str],
    *,
    text_columns: Collection[str] = (),
    known_columns: Collection[str] = (),
    max_line_bytes: int = MAX_LINE_BYTES,
) -> pd.DataFrame:
    """The file's table: UTF-8 (a byte-order mark allowed; gzip when the name ends in
    ``.gz``), comma separated, the header on the first non-blank line, blank lines skipped.

    Raises:
        DataError: for an empty or unreadable file, a line over `max_line_bytes`, bytes that
            are not UTF-8, a repeated column name (shown when in `known_columns`), a record
            that breaks the CSV layout, or a header without data lines; naming the line.
    """
    source, file = str(path), Path(path)
    scan_text(file, max_line_bytes=max_line_bytes)
    header = header_names(file)
    if header is None:
        raise located(source, "only blank lines; expected a header line and events")
    check_unique_names(header[1], source, known_columns, line=header[0])
    as_text = dict.fromkeys(text_columns, "str")
    try:
        frame = pd.read_csv(file, dtype=as_text, encoding="utf-8")
    except pd.errors.ParserError:
        raise _parser_problem(file, source) from None
    except (ValueError, OSError) as exc:
        # pandas' own text may quote a cell: give only its kind.
        raise located(source, f"not a readable CSV file ({type(exc).__name__})") from None
    if frame.empty:
        raise located(source, "a header line but no data lines after it", line=header[0])
    return frame


def _parser_problem(path: Path, source: str) -> DataError:
    """Where pandas' tokenizer stopped, found again with the csv module."""
    width: int | None = None
    for start, record in records(path):
        if ends_quoted(record):
            return located(source, "a quoted field opened here is never closed", line=start)
        fields = len(parse_record(record))
        if width is None:
            width = fields
        elif fields > width:
            return located(source, f"{fields} fields where the header has {width}", line=start)
    return located(source, "not a readable CSV file")
