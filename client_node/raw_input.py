"""A partner's raw event file, read and checked before anything is pseudonymized or cached.

Accepted files:

- CSV (``.csv``, or gzip-compressed ``.csv.gz``): UTF-8 (a byte-order mark is allowed), comma
  separated, the header on the first non-blank line, blank lines skipped, and no line longer
  than ``RawLimits.max_line_bytes`` (1 MiB by default);
- Parquet (``.parquet``, ``.pq``).

Columns: every column the partner schema names, and the event columns ``timestamp`` (ISO 8601
text such as ``2024-01-31`` or ``2024-01-31 14:05:00``, or a datetime column; offsets are
converted to UTC), ``quantity`` (a finite number) and ``amount`` (a finite number, 0 or more),
as `insight.validate_events` requires. Other columns pass through. Dates must fall within
`RawLimits`: from 1970-01-01 up to and including tomorrow (UTC) by default, which catches
typed-in years such as 1850 or 2300 and keeps every date within pandas' Timestamp bounds.

Rows without a customer id are dropped by `pseudonymize_table` whatever else they hold, so only
rows with one are checked; those are checked whether or not the customer consented.

Every problem is a `PartnerDataError` naming the file and where: the line (CSV, counted in the
file, the header is line 1) or the 1-based data row (Parquet), and the column.

Notes:
    Messages never hold a cell's value (it may be a customer id, a name or an email): they
    reach the coordinator and its logs. A column name is shown only when the schema or the
    event schema names it, since a file without a header line has data where names belong.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from anonymization import PartnerSchema
from client_node.errors import PartnerDataError
from client_node.raw_cells import (
    BoolArray,
    CellCheck,
    check_dates,
    check_numbers,
    is_blank,
    with_missing,
)
from client_node.raw_lines import (
    MAX_LINE_BYTES,
    data_line,
    ends_quoted,
    header_names,
    located,
    parse_record,
    records,
    scan_text,
)

__all__ = ["EVENT_COLUMNS", "RawLimits", "read_partner_file"]

EVENT_COLUMNS: tuple[str, ...] = ("timestamp", "quantity", "amount")
EARLIEST_DATE = date(1970, 1, 1)
_PARQUET_SUFFIXES = (".parquet", ".pq")


@dataclass(frozen=True)
class RawLimits:
    """What a raw partner file may hold.

    `latest` is the last allowed day; None means tomorrow (UTC) at the time of reading, so
    that events of today in any time zone are accepted.
    """

    max_line_bytes: int = MAX_LINE_BYTES
    earliest: date = EARLIEST_DATE
    latest: date | None = None

    def __post_init__(self) -> None:
        if self.max_line_bytes < 1:
            raise ValueError("max_line_bytes must be at least 1")
        if self.latest is not None and self.latest < self.earliest:
            raise ValueError("latest must not come before earliest")

    def date_range(self) -> tuple[date, date]:
        """The first and last allowed day."""
        latest = self.latest or datetime.now(UTC).date() + timedelta(days=1)
        return self.earliest, latest


def read_partner_file(
    path: Path, schema: PartnerSchema, *, limits: RawLimits | None = None
) -> pd.DataFrame:
    """The partner's table, checked, with timestamps and numbers typed.

    Valid columns come back as read; a text timestamp column becomes ``datetime64[ns]`` and a
    text number column ``float64``.

    Raises:
        PartnerDataError: on the first problem, naming the file and where (see the module
            docstring), never a cell's value.
    """
    limits = limits or RawLimits()
    source = str(path)
    known = {*schema.columns, *EVENT_COLUMNS}
    is_csv = not path.name.lower().endswith(_PARQUET_SUFFIXES)
    frame = _read_csv(path, schema, limits, known) if is_csv else _read_parquet(path, known)
    if frame.empty:
        if is_csv:
            header = header_names(path)
            line = header[0] if header is not None else None
            raise located(source, "a header line but no data lines after it", line=line)
        raise located(source, "no data rows")
    for column, role in _required_columns(schema).items():
        if column not in frame.columns:
            hint = _header_hint(frame.columns) if is_csv else ""
            raise located(source, f"missing required column '{column}' ({role}){hint}")

    checks = [
        check_dates(frame["timestamp"], "timestamp", source, *limits.date_range()),
        check_numbers(frame["quantity"], "quantity", source),
        check_numbers(frame["amount"], "amount", source, non_negative=True),
    ]
    if any(check.bad.any() for check in checks):
        has_id = _has_customer_id(frame[schema.customer_id])
        if any((check.bad & has_id).any() for check in checks):
            raise _first_problem(frame, path, checks, has_id, is_csv=is_csv)
    for check in checks:
        if check.typed is not None:
            frame[check.column] = with_missing(check.typed, check.bad)
    return frame


def _header_hint(columns: pd.Index) -> str:
    """Why a CSV may lack a column: another separator, or no header line."""
    if len(columns) == 1:
        for separator in (";", "\t", "|"):
            if separator in str(columns[0]):
                return f"; the header has one column: separate columns with ',' not {separator!r}"
    return "; the first line must be the header"


def _required_columns(schema: PartnerSchema) -> dict[str, str]:
    """Each column the file must have, and what it is for."""
    roles = {schema.customer_id: "the schema's customer id column"}
    for column in schema.identifier_columns:
        roles[column] = "an identifier column of the schema"
    for column in schema.text_columns:
        roles[column] = "a text column of the schema"
    if schema.consent_column is not None:
        roles[schema.consent_column] = "the schema's consent column"
    for column in EVENT_COLUMNS:
        roles.setdefault(column, "an event column")
    return roles


def _read_csv(
    path: Path, schema: PartnerSchema, limits: RawLimits, known: Collection[str]
) -> pd.DataFrame:
    source = str(path)
    scan_text(path, max_line_bytes=limits.max_line_bytes)
    header = header_names(path)
    if header is None:
        raise located(source, "only blank lines; expected a header line and events")
    _check_unique(header[1], source, known, line=header[0])
    # Ids and identifiers as text, so that leading zeros survive; timestamps as text, parsed
    # below with a message for the first bad one.
    as_text = {c: "str" for c in (*schema.columns, "timestamp") if c != schema.consent_column}
    try:
        return pd.read_csv(path, dtype=as_text, encoding="utf-8")
    except pd.errors.ParserError:
        raise _parser_problem(path) from None
    except (ValueError, OSError) as exc:
        # pandas' own text may quote a cell: give only its kind.
        raise located(source, f"not a readable CSV file ({type(exc).__name__})") from None


def _read_parquet(path: Path, known: Collection[str]) -> pd.DataFrame:
    source = str(path)
    try:
        if path.stat().st_size == 0:
            raise located(source, "the file is empty (0 bytes)")
        # The footer alone: pandas refuses duplicate names with a message of its own.
        _check_unique([str(n) for n in pq.read_schema(path).names], source, known, line=None)
        return pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        # pyarrow's errors subclass these; their text is not ours to pass on.
        raise located(source, f"not a readable Parquet file ({type(exc).__name__})") from None


def _check_unique(
    names: list[str], source: str, known: Collection[str], *, line: int | None
) -> None:
    first: dict[str, int] = {}
    for position, name in enumerate(names, start=1):
        if name not in first:
            first[name] = position
            continue
        what = f"columns {first[name]} and {position} have the same name"
        if name in known:
            what = f"column name '{name}' appears twice (columns {first[name]} and {position})"
        raise located(source, what, line=line)


def _parser_problem(path: Path) -> PartnerDataError:
    """Where pandas' tokenizer stopped, found again with the csv module."""
    source = str(path)
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


def _has_customer_id(ids: pd.Series) -> BoolArray:
    """Rows `pseudonymize_table` keeps: a customer id that is neither missing nor blank."""
    present: BoolArray = ids.notna().to_numpy(dtype=bool)
    if pd.api.types.is_numeric_dtype(ids.dtype):
        return present
    blank: BoolArray = ids.astype("str").str.strip().eq("").to_numpy(dtype=bool)
    return present & ~blank


def _first_problem(
    frame: pd.DataFrame,
    path: Path,
    checks: list[CellCheck],
    has_id: BoolArray,
    *,
    is_csv: bool,
) -> PartnerDataError:
    """The error for the first failing row (then the leftmost failing column in it).

    Requires at least one failing row with a customer id.
    """
    source = str(path)
    bad = [check.bad & has_id for check in checks]
    row = min(int(np.flatnonzero(mask)[0]) for mask in bad if mask.any())
    order = {name: i for i, name in enumerate(frame.columns)}
    check = min(
        (c for c, mask in zip(checks, bad, strict=True) if mask[row]),
        key=lambda c: order[c.column],
    )
    if not is_csv:
        return located(source, check.reason(row), line=row + 1, column=check.column, unit="row")
    line = data_line(path, row)
    if _is_header_again(frame, row):
        return located(source, "the header line appears again here; remove it", line=line)
    return located(source, check.reason(row), line=line, column=check.column)


def _is_header_again(frame: pd.DataFrame, row: int) -> bool:
    cells = frame.iloc[row].tolist()
    return all(
        not is_blank(cell) and str(cell) == str(name)
        for cell, name in zip(cells, frame.columns, strict=True)
    )
