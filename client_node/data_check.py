"""``fedinsight node check``: a partner's data file read as a run reads it, summarized.

The file goes through the run's own reader (`client_node.raw_input.read_partner_file`) with the
node's schema, then through the row filter `anonymization.pseudonymize_table` applies
(`anonymization.usable_rows`: consent, customer id) and `insight.validate_events`, so a file
that passes here is one the run can ingest. Nothing is pseudonymized and nothing is written: no
key is needed, and the check can run before the node folder exists (``node init``) or before the
SuperNode starts (``node start``).

Notes:
    The report holds counts and the calendar days of the first and last event, never a cell's
    value (a customer id, a name, an amount): it is shown on the partner's screen and may be
    pasted into a support ticket. Errors are the reader's, which never hold a value either.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pandas as pd

from anonymization import AnonymizationError, PartnerSchema, usable_rows
from client_node.errors import PartnerDataError
from client_node.home import NodeHome
from client_node.raw_input import RawLimits, read_partner_file
from insight import DataError, validate_events

__all__ = ["DataCheck", "check_node_data", "check_partner_data"]


@dataclass(frozen=True)
class DataCheck:
    """What a readable partner file holds, in aggregate.

    `rows_kept` = `rows_read` - sum(`dropped`); `dropped` maps a reason (`no_consent`,
    `missing_customer_id`) to its row count, reasons with no row left out.
    """

    path: Path
    rows_read: int
    rows_kept: int
    customers: int
    first_day: date
    last_day: date
    dropped: dict[str, int] = field(default_factory=dict)


def check_partner_data(
    path: Path, schema: PartnerSchema | None = None, *, limits: RawLimits | None = None
) -> DataCheck:
    """Read `path` as the run would (with `schema`, default: a ``customer_id`` column only).

    Raises:
        PartnerDataError: the file is missing or unreadable, lacks a column, holds a bad cell
            (the message names the file, line or row, and column, never the value), or keeps
            no row once rows without consent or without a customer id are left out.
    """
    schema = schema or PartnerSchema("customer_id")
    if not path.is_file():
        raise PartnerDataError(f"partner data file not found: {path}")
    raw = read_partner_file(path, schema, limits=limits)
    try:
        kept, dropped = usable_rows(raw, schema)
    except AnonymizationError as exc:
        raise PartnerDataError(f"{path}: {exc}") from None
    if kept.empty:
        reasons = ", ".join(f"{n} {r.replace('_', ' ')}" for r, n in dropped.items())
        raise PartnerDataError(
            f"{path}: no usable row (of {len(raw)} read{'; ' + reasons if reasons else ''})"
        )
    events = pd.DataFrame(
        {
            "customer_id": kept[schema.customer_id].astype("str").str.strip().to_numpy(),
            "timestamp": kept["timestamp"].to_numpy(),
            "quantity": kept["quantity"].to_numpy(),
            "amount": kept["amount"].to_numpy(),
        }
    )
    try:
        events = validate_events(events, source=str(path))
    except DataError as exc:
        raise PartnerDataError(str(exc)) from None
    days = events["timestamp"]
    return DataCheck(
        path=path,
        rows_read=len(raw),
        rows_kept=len(events),
        customers=int(events["customer_id"].nunique()),
        first_day=days.min().date(),
        last_day=days.max().date(),
        dropped=dropped,
    )


def check_node_data(home: NodeHome) -> DataCheck:
    """`check_partner_data` on a node folder's data file, with the folder's schema.

    Raises:
        PartnerDataError: not a node folder, or the data cannot be used (see
            `check_partner_data`).
    """
    schema_path = home.schema_path()
    try:
        schema = PartnerSchema.load(schema_path) if schema_path else None
    except AnonymizationError as exc:
        raise PartnerDataError(str(exc)) from None
    return check_partner_data(home.data_path(), schema)
