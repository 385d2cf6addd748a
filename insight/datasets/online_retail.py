"""The UCI Online Retail data sets, read from a file the user downloaded.

Two releases exist, with different column names:

* Online Retail (2010-12-01 to 2011-12-09): ``InvoiceNo, StockCode, Description, Quantity,
  InvoiceDate, UnitPrice, CustomerID, Country``;
* Online Retail II (2009-12-01 to 2011-12-09, one sheet a year in the workbook): ``Invoice,
  StockCode, Description, Quantity, InvoiceDate, Price, Customer ID, Country``.

Each row is an invoice line. Cancellations (invoice numbers starting with ``C``), rows without
a customer id, and rows with a non-positive quantity or price (returns, stock adjustments,
bad-debt write-offs) are dropped and counted in the report, each under the first reason that
applies, in that order.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import numpy as np
import pandas as pd

from insight.errors import DataError
from insight.schema import EventTable, LoadReport, validate_events
from insight.tables import (
    ReadOptions,
    clean_customer_ids,
    parse_dates,
    parse_numbers,
    read_tables,
)

__all__ = ["load_online_retail"]

_RELEASES: tuple[Mapping[str, str], ...] = (
    {
        "invoice": "InvoiceNo",
        "quantity": "Quantity",
        "date": "InvoiceDate",
        "price": "UnitPrice",
        "customer": "CustomerID",
        "country": "Country",
    },
    {
        "invoice": "Invoice",
        "quantity": "Quantity",
        "date": "InvoiceDate",
        "price": "Price",
        "customer": "Customer ID",
        "country": "Country",
    },
)
# UCI's CSV exports write "12/1/2010 8:26"; other conversions write ISO 8601.
_DATE_FORMATS = ("ISO8601", "%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%d/%m/%Y %H:%M")
DROP_REASONS = (
    "cancellations",
    "missing_customer_id",
    "non_positive_quantity",
    "non_positive_price",
)


def load_online_retail(path: str | os.PathLike[str], *, encoding: str = "utf-8") -> EventTable:
    """Load either Online Retail release from ``.xlsx``, ``.csv`` (plain or gzip) or ``.parquet``.

    Returns events with ``amount = quantity * unit price``, ``customer_id`` as a clean string
    (``"12346"``, never ``"12346.0"``), the full invoice time as ``timestamp`` and ``Country``
    as an extra column. Every workbook sheet is read. ``encoding`` applies to CSV only.

    Raises:
        DataError: for an unsupported file type, a missing column (named), or a value that
            cannot be read, naming the line (CSV), spreadsheet row (Excel, header = row 1) or
            1-based row (Parquet) and the column.
    """
    source = str(path)
    options = ReadOptions(formats=("xlsx", "csv", "parquet"), encoding=encoding)
    pieces: list[pd.DataFrame] = []
    dropped = dict.fromkeys(DROP_REASONS, 0)
    rows_read = 0
    for table in read_tables(path, options):
        assert table.lines is not None, "a public read locates every row"
        events, part_dropped = _events_from_frame(table.frame, table.lines, source=table.source)
        pieces.append(events)
        rows_read += len(table.frame)
        for reason, count in part_dropped.items():
            dropped[reason] += count
    events = pd.concat(pieces, ignore_index=True) if len(pieces) > 1 else pieces[0]
    report = LoadReport(source=source, rows_read=rows_read, rows_kept=len(events), dropped=dropped)
    return EventTable(events=events, report=report)


def _resolve_columns(frame: pd.DataFrame, source: str) -> dict[str, str]:
    """Map our roles to the frame's column names, for whichever release the header matches."""
    present = {str(column).strip(): column for column in frame.columns}
    best: tuple[int, Mapping[str, str]] | None = None
    for release in _RELEASES:
        found = sum(name in present for name in release.values())
        if found == len(release):
            return {role: present[name] for role, name in release.items()}
        if best is None or found > best[0]:
            best = (found, release)
    assert best is not None
    missing = next(name for name in best[1].values() if name not in present)
    raise DataError(
        "missing column for an Online Retail file "
        f"(have {sorted(present)}; see the UCI Online Retail or Online Retail II layouts)",
        source=source,
        column=missing,
    )


def _events_from_frame(
    frame: pd.DataFrame, lines: np.ndarray, *, source: str
) -> tuple[pd.DataFrame, dict[str, int]]:
    columns = _resolve_columns(frame, source)
    name = {role: str(column).strip() for role, column in columns.items()}
    quantity = parse_numbers(
        frame[columns["quantity"]], column=name["quantity"], source=source, lines=lines
    )
    price = parse_numbers(frame[columns["price"]], column=name["price"], source=source, lines=lines)
    timestamp = parse_dates(
        frame[columns["date"]],
        column=name["date"],
        source=source,
        lines=lines,
        formats=_DATE_FORMATS,
    )
    customer_id, missing_id = clean_customer_ids(frame[columns["customer"]])
    invoice = frame[columns["invoice"]].astype("str").str.strip().str.upper()
    cancelled = invoice.str.startswith("C").fillna(False).to_numpy(dtype=bool)

    reasons = (
        ("cancellations", cancelled),
        ("missing_customer_id", missing_id),
        ("non_positive_quantity", ~(quantity > 0)),
        ("non_positive_price", ~(price > 0)),
    )
    keep = np.ones(len(frame), dtype=bool)
    dropped: dict[str, int] = {}
    for reason, mask in reasons:
        hit = keep & mask
        dropped[reason] = int(hit.sum())
        keep &= ~hit

    country = frame[columns["country"]].astype("str").to_numpy(dtype=object)
    events = pd.DataFrame(
        {
            "customer_id": customer_id[keep],
            "timestamp": timestamp[keep],
            "quantity": quantity[keep],
            "amount": quantity[keep] * price[keep],
            "Country": country[keep],
        }
    )
    events["customer_id"] = events["customer_id"].astype("str")
    events["Country"] = events["Country"].astype("str")
    events = validate_events(events, source=source, line_numbers=lines[keep])
    return events, dropped
