"""The event table every loader returns, and its validation.

An event frame is a pandas DataFrame with one row per purchase event:

==============  ==================  ===========================================
column          dtype               meaning
==============  ==================  ===========================================
``customer_id`` ``str``             the customer, a non-empty string
``timestamp``   ``datetime64[ns]``  when; day resolution is enough
``quantity``    ``float64``         units bought, finite
``amount``      ``float64``         money spent, finite and ``>= 0``
==============  ==================  ===========================================

Any further columns (``Country``, say) are extras and pass through untouched.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from insight.errors import DataError

__all__ = [
    "REQUIRED_COLUMNS",
    "EventTable",
    "LoadReport",
    "validate_events",
]

REQUIRED_COLUMNS: tuple[str, ...] = ("customer_id", "timestamp", "quantity", "amount")

# Builds the error for the first row flagged in a boolean mask.
_Fail = Callable[[str, str, np.ndarray], DataError]


@dataclass(frozen=True)
class LoadReport:
    """What a loader read, kept and dropped.

    ``dropped`` maps a reason (``cancellations``, ``missing_customer_id``,
    ``non_positive_quantity``, ...) to the number of input rows dropped for it; each row is
    counted once, under the first reason that applies. ``rows_read`` is the number of data
    rows in the source; ``rows_kept == rows_read - sum(dropped.values())``.
    """

    source: str
    rows_read: int
    rows_kept: int
    dropped: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class EventTable:
    """A validated event frame (see the module docstring) and the report of its loading."""

    events: pd.DataFrame
    report: LoadReport


def validate_events(
    frame: pd.DataFrame,
    *,
    source: str,
    line_numbers: Sequence[int] | np.ndarray | None = None,
) -> pd.DataFrame:
    """Check ``frame`` against the event schema and return a normalised copy.

    The copy has the required columns first (then the extras in their order), the schema's
    dtypes (timestamps cast to nanoseconds, numbers to ``float64``, ids to ``str``) and a
    fresh ``RangeIndex``.

    Args:
        frame: candidate event frame.
        source: what the frame came from (a path), used in error messages.
        line_numbers: the source line of each row, aligned with ``frame``; when absent, the
            1-based row position is reported as the line.

    Raises:
        DataError: on a missing column, a wrong dtype, a missing or empty customer id,
            a missing timestamp (NaT), a non-finite number or a negative amount. The error
            names the first offending row.
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(
            f"missing required column (have {list(map(str, frame.columns))})",
            source=source,
            column=missing[0],
        )
    if line_numbers is not None and len(line_numbers) != len(frame):
        raise ValueError("line_numbers must have one entry per row of frame")
    lines = (
        np.asarray(line_numbers, dtype=np.int64)
        if line_numbers is not None
        else np.arange(1, len(frame) + 1, dtype=np.int64)
    )

    def fail(message: str, column: str, bad: np.ndarray) -> DataError:
        first = int(np.flatnonzero(bad)[0])
        return DataError(message, source=source, line=int(lines[first]), column=column)

    customer_id = _check_customer_id(frame["customer_id"], source, fail)
    timestamp = _check_timestamp(frame["timestamp"], source, fail)
    quantity = _check_number(frame["quantity"], "quantity", source, fail)
    amount = _check_number(frame["amount"], "amount", source, fail)
    negative = amount.to_numpy() < 0
    if negative.any():
        raise fail("negative amount", "amount", negative)

    extras = [c for c in frame.columns if c not in REQUIRED_COLUMNS]
    out = pd.DataFrame(
        {
            "customer_id": customer_id.to_numpy(),
            "timestamp": timestamp.to_numpy(),
            "quantity": quantity.to_numpy(),
            "amount": amount.to_numpy(),
        }
    )
    out["customer_id"] = out["customer_id"].astype("str")
    for name in extras:
        out[name] = frame[name].to_numpy()
    return out


def _check_customer_id(series: pd.Series, source: str, fail: _Fail) -> pd.Series:
    values = series.to_numpy(dtype=object)
    missing = pd.isna(values)
    if missing.any():
        raise fail("missing customer id", "customer_id", missing)
    not_str = np.array([not isinstance(v, str) for v in values], dtype=bool)
    if not_str.any():
        raise DataError(
            f"customer ids must be strings, got dtype {series.dtype}",
            source=source,
            column="customer_id",
        )
    empty = np.array([not v.strip() for v in values], dtype=bool)
    if empty.any():
        raise fail("empty customer id", "customer_id", empty)
    return series


def _check_timestamp(series: pd.Series, source: str, fail: _Fail) -> pd.Series:
    if not pd.api.types.is_datetime64_dtype(series.dtype):
        raise DataError(
            f"expected tz-naive datetime64 timestamps, got dtype {series.dtype}",
            source=source,
            column="timestamp",
        )
    as_ns = series.astype("datetime64[ns]")
    nat = as_ns.isna().to_numpy()
    if nat.any():
        raise fail("missing timestamp (NaT)", "timestamp", nat)
    return as_ns


def _check_number(series: pd.Series, column: str, source: str, fail: _Fail) -> pd.Series:
    if pd.api.types.is_bool_dtype(series.dtype) or not pd.api.types.is_numeric_dtype(series.dtype):
        raise DataError(
            f"expected a numeric column, got dtype {series.dtype}",
            source=source,
            column=column,
        )
    as_float = series.astype("float64")
    bad = ~np.isfinite(as_float.to_numpy())
    if bad.any():
        raise fail("missing or non-finite number", column, bad)
    return as_float
