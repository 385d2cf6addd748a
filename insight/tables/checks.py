"""One column of a partner's raw table, parsed and checked cell by cell.

Each check finds every failing cell with vectorized pandas/numpy work and explains only the
one that gets reported, so a valid million-row column costs no Python loop. Explanations never
quote the cell's value.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import numpy.typing as npt
import pandas as pd

from insight.tables.lines import located

__all__ = ["BoolArray", "CellCheck", "check_dates", "check_numbers", "is_blank", "with_missing"]

BoolArray = npt.NDArray[np.bool_]

_NOT_A_DATE = "not a date; expected ISO 8601 (YYYY-MM-DD or YYYY-MM-DD HH:MM:SS)"
# A year of five or more digits reads as no date at all to pandas; say what is wrong with it.
_HUGE_YEAR = re.compile(r"\s*[+-]?\d{5,}-")


@dataclass(frozen=True)
class CellCheck:
    """The failing cells of one column, why a given row fails, and the typed values.

    `typed` (None when the column is already typed) is what replaces a text column once the
    check passes.
    """

    column: str
    bad: BoolArray
    reason: Callable[[int], str]
    typed: np.ndarray | None = None


def check_numbers(
    series: pd.Series, column: str, source: str, *, non_negative: bool = False
) -> CellCheck:
    """Finite numbers (and 0 or more when `non_negative`); a text column is parsed.

    Raises:
        DataError: for a column of true/false values or of dates.
    """
    typed = None
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        raise located(source, "expected numbers, found true/false values", column=column)
    if pd.api.types.is_datetime64_any_dtype(dtype):
        raise located(source, "expected numbers, found dates", column=column)
    if pd.api.types.is_numeric_dtype(dtype):
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        typed = values
    bad = ~np.isfinite(values)
    if non_negative:
        bad |= values < 0

    def reason(row: int) -> str:
        value = values[row]
        if np.isnan(value):
            return "missing value" if is_blank(series.iloc[row]) else "not a number"
        if np.isinf(value):
            return "not a finite number"
        return f"negative {column}; it must be 0 or more"

    return CellCheck(column, bad, reason, typed)


def check_dates(series: pd.Series, column: str, source: str, first: date, last: date) -> CellCheck:
    """Dates from day `first` through day `last`; text and time-zone aware columns are parsed
    (ISO 8601) and made naive UTC.

    Raises:
        DataError: for a column of numbers or true/false values.
    """
    dtype = series.dtype
    converted: pd.Series | None = None
    if isinstance(dtype, pd.DatetimeTZDtype):
        converted = series.dt.tz_convert("UTC").dt.tz_localize(None)
    elif pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
        raise located(
            source, "expected dates, found numbers; write dates as YYYY-MM-DD", column=column
        )
    elif not pd.api.types.is_datetime64_dtype(dtype):
        converted = _parse_dates(series)
    stamps = (series if converted is None else converted).to_numpy().astype("datetime64[us]")
    low = np.datetime64(first, "us")
    high = np.datetime64(last + timedelta(days=1), "us")
    missing = np.isnat(stamps)
    bad = missing | (stamps < low) | (stamps >= high)
    out_of_range = f"date out of range; dates must fall between {first} and {last} (UTC)"

    def reason(row: int) -> str:
        if not missing[row]:
            return out_of_range
        if is_blank(series.iloc[row]):
            return "missing date"
        return out_of_range if _HUGE_YEAR.match(str(series.iloc[row])) else _NOT_A_DATE

    return CellCheck(column, bad, reason, None if converted is None else stamps)


def _parse_dates(series: pd.Series) -> pd.Series:
    try:
        parsed = pd.to_datetime(series, format="ISO8601", errors="coerce", utc=True)
    except (ValueError, TypeError, OverflowError):
        # Mixed objects (from Parquet) that pandas refuses as a whole: one value at a time.
        parsed = pd.Series(
            [pd.to_datetime(v, format="ISO8601", errors="coerce", utc=True) for v in series],
            index=series.index,
            dtype="datetime64[us, UTC]",
        )
    return parsed.dt.tz_localize(None)


def is_blank(value: object) -> bool:
    """Missing (None, NaN, NA, NaT) or only whitespace."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    return isinstance(value, str) and not value.strip()


def with_missing(typed: np.ndarray, bad: BoolArray) -> np.ndarray:
    """`typed` with failing cells missing; dates as ``datetime64[ns]`` (safe once in range)."""
    if typed.dtype.kind == "M":
        return np.where(bad, np.datetime64("NaT"), typed).astype("datetime64[ns]")
    return np.where(bad, np.nan, typed)
