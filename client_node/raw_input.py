"""A partner's raw event file, read and checked before anything is pseudonymized or cached.

Accepted files:

- CSV (``.csv``, or gzip-compressed ``.csv.gz``): UTF-8 (a byte-order mark is allowed), comma
  separated, the header on the first non-blank line, blank lines skipped, and no line longer
  than ``RawLimits.max_line_bytes`` (1 MiB by default);
- Parquet (``.parquet``, ``.pq``).

Columns: every column the partner schema names, and the event columns ``timestamp`` (ISO 8601
text such as ``2024-01-31`` or ``2024-01-31 14:05:00``, or a datetime column; offsets are
converted to UTC), ``quantity`` (a finite number) and ``amount`` (a finite number, 0 or more),
as `insight.validate_events` requires. A visit log may lack ``quantity`` (each row is then one
unit) and ``amount`` (each row 0: scoring then leaves spend and value out). Other columns pass
through. Dates must fall within `RawLimits`: from 1970-01-01 up to and including tomorrow (UTC)
by default, which catches typed-in years such as 1850 or 2300 and keeps every date within
pandas' Timestamp bounds.

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

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from anonymization import PartnerSchema
from client_node.errors import PartnerDataError
from insight import DataError
from insight.tables import (
    MAX_LINE_BYTES,
    CellCheck,
    ReadOptions,
    Table,
    check_dates,
    check_numbers,
    is_blank,
    located,
    read_table,
    with_missing,
)

__all__ = ["EVENT_COLUMNS", "RawLimits", "read_partner_file"]

EVENT_COLUMNS: tuple[str, ...] = ("timestamp", "quantity", "amount")
# Event columns a file may lack (a visit log): the value every row then gets.
OPTIONAL_EVENT_COLUMNS: dict[str, float] = {"quantity": 1.0, "amount": 0.0}
EARLIEST_DATE = date(1970, 1, 1)

BoolArray = npt.NDArray[np.bool_]


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
    try:
        return _read_checked(path, schema, limits or RawLimits())
    except DataError as exc:
        raise PartnerDataError(str(exc)) from None


def _read_checked(path: Path, schema: PartnerSchema, limits: RawLimits) -> pd.DataFrame:
    source = str(path)
    options = ReadOptions(
        formats=("parquet",),
        fallback="csv",
        private=True,
        # Ids and identifiers as text, so that leading zeros survive; timestamps as text,
        # parsed below with a message for the first bad one.
        text_columns=tuple(c for c in (*schema.columns, "timestamp") if c != schema.consent_column),
        known_columns=frozenset({*schema.columns, *EVENT_COLUMNS}),
        max_line_bytes=limits.max_line_bytes,
    )
    table = read_table(path, options)
    frame = table.frame
    for column, role in _required_columns(schema).items():
        if column not in frame.columns:
            hint = _header_hint(frame.columns) if table.unit == "line" else ""
            raise located(source, f"missing required column '{column}' ({role}){hint}")
    for column, default in OPTIONAL_EVENT_COLUMNS.items():
        if column not in frame.columns:
            frame[column] = default  # a visit log: one unit a row, no amounts

    checks = [
        check_dates(frame["timestamp"], "timestamp", source, *limits.date_range()),
        check_numbers(frame["quantity"], "quantity", source),
        check_numbers(frame["amount"], "amount", source, non_negative=True),
    ]
    if any(check.bad.any() for check in checks):
        has_id = _has_customer_id(frame[schema.customer_id])
        if any((check.bad & has_id).any() for check in checks):
            raise _first_problem(table, checks, has_id)
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
        if column not in OPTIONAL_EVENT_COLUMNS:
            roles.setdefault(column, "an event column")
    return roles


def _has_customer_id(ids: pd.Series) -> BoolArray:
    """Rows `pseudonymize_table` keeps: a customer id that is neither missing nor blank."""
    present: BoolArray = ids.notna().to_numpy(dtype=bool)
    if pd.api.types.is_numeric_dtype(ids.dtype):
        return present
    blank: BoolArray = ids.astype("str").str.strip().eq("").to_numpy(dtype=bool)
    return present & ~blank


def _first_problem(table: Table, checks: list[CellCheck], has_id: BoolArray) -> DataError:
    """The error for the first failing row (then the leftmost failing column in it).

    Requires at least one failing row with a customer id.
    """
    frame, source = table.frame, table.source
    bad = [check.bad & has_id for check in checks]
    row = min(int(np.flatnonzero(mask)[0]) for mask in bad if mask.any())
    order = {name: i for i, name in enumerate(frame.columns)}
    check = min(
        (c for c, mask in zip(checks, bad, strict=True) if mask[row]),
        key=lambda c: order[c.column],
    )
    line = table.line_of(row)
    if table.unit == "line" and _is_header_again(frame, row):
        return located(source, "the header line appears again here; remove it", line=line)
    return located(source, check.reason(row), line=line, column=check.column, unit=table.unit)


def _is_header_again(frame: pd.DataFrame, row: int) -> bool:
    cells = frame.iloc[row].tolist()
    return all(
        not is_blank(cell) and str(cell) == str(name)
        for cell, name in zip(cells, frame.columns, strict=True)
    )
