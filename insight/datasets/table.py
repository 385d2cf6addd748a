"""Any purchase table in CSV or Parquet, given which of its columns mean what."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pandas as pd

from insight.errors import DataError
from insight.schema import EventTable, LoadReport, validate_events
from insight.tables import (
    ReadOptions,
    clean_customer_ids,
    parse_dates,
    parse_numbers,
    read_table,
)

__all__ = ["ColumnMapping", "load_table"]


@dataclass(frozen=True)
class ColumnMapping:
    """Names of the source columns that hold each event field.

    ``quantity=None`` counts every row as one unit. A field named in ``optional`` (``quantity``
    or ``amount``) may be missing from the file: every row then counts as one unit, or as an
    amount of 0 (a visit log without amounts). ``date_format`` is a strptime format for
    text timestamps; ``None`` means ISO 8601 (``2011-06-30`` or ``2011-06-30 14:05:00``).
    Columns named in ``extra`` are carried through unchanged under their own names.
    """

    customer_id: str
    timestamp: str
    quantity: str | None
    amount: str
    date_format: str | None = None
    extra: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()


def load_table(
    path: str | os.PathLike[str], mapping: ColumnMapping, *, encoding: str = "utf-8"
) -> EventTable:
    """Load a CSV (plain or gzip) or Parquet file of purchase events through ``mapping``.

    Rows without a customer id are dropped and counted as ``missing_customer_id``; every
    other problem is an error. Customer ids are cleaned as for Online Retail (``12346.0``
    becomes ``"12346"``).

    Raises:
        DataError: for an unsupported file type, a mapped column the file lacks, or the first
            value that cannot be read (missing or bad number or date, negative amount),
            naming the line (CSV, header = line 1) or 1-based row (Parquet) and the column.
    """
    source = str(path)
    table = read_table(path, ReadOptions(formats=("csv", "tsv", "parquet"), encoding=encoding))
    frame, lines = table.frame, table.lines
    assert lines is not None, "a public read locates every row"

    absent = {
        field
        for field, column in (("quantity", mapping.quantity), ("amount", mapping.amount))
        if field in mapping.optional and column not in frame.columns
    }
    quantity_column = None if "quantity" in absent else mapping.quantity
    wanted = [mapping.customer_id, mapping.timestamp, *mapping.extra]
    wanted += [c for f, c in (("amount", mapping.amount),) if f not in absent]
    if quantity_column is not None:
        wanted.append(quantity_column)
    for column in wanted:
        if column not in frame.columns:
            raise DataError(
                f"missing column (have {list(map(str, frame.columns))})",
                source=source,
                column=column,
            )

    customer_id, missing_id = clean_customer_ids(frame[mapping.customer_id])
    keep = ~missing_id
    frame, lines, customer_id = frame.loc[keep], lines[keep], customer_id[keep]
    formats = (mapping.date_format,) if mapping.date_format is not None else ("ISO8601",)
    timestamp = parse_dates(
        frame[mapping.timestamp],
        column=mapping.timestamp,
        source=source,
        lines=lines,
        formats=formats,
    )
    if "amount" in absent:
        amount = np.zeros(len(frame), dtype=np.float64)
    else:
        amount = parse_numbers(
            frame[mapping.amount], column=mapping.amount, source=source, lines=lines
        )
    if quantity_column is None:
        quantity = np.ones(len(frame), dtype=np.float64)
    else:
        quantity = parse_numbers(
            frame[quantity_column], column=quantity_column, source=source, lines=lines
        )
    events = pd.DataFrame(
        {
            "customer_id": customer_id,
            "timestamp": timestamp,
            "quantity": quantity,
            "amount": amount,
        }
    )
    events["customer_id"] = events["customer_id"].astype("str")
    for column in mapping.extra:
        events[column] = frame[column].to_numpy()
    negative = amount < 0
    if negative.any():
        i = int(np.flatnonzero(negative)[0])
        raise DataError("negative amount", source=source, line=int(lines[i]), column=mapping.amount)
    events = validate_events(events, source=source, line_numbers=lines)
    report = LoadReport(
        source=source,
        rows_read=len(missing_id),
        rows_kept=len(events),
        dropped={"missing_customer_id": int(missing_id.sum())},
    )
    return EventTable(events=events, report=report)
