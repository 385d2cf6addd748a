"""Column parsers shared by the loaders: each names the first bad row and column it meets."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

from insight.errors import DataError

__all__ = ["clean_customer_ids", "parse_dates", "parse_numbers"]

_INTEGRAL_DECIMAL = re.compile(r"^([+-]?\d+)\.0*$")
_SHOWN_CHARS = 40

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


def _shown(value: object) -> str:
    text = str(value)
    return repr(text if len(text) <= _SHOWN_CHARS else text[:_SHOWN_CHARS] + "...")


def _first(mask: BoolArray) -> int:
    return int(np.flatnonzero(mask)[0])


def _stripped_strings(values: pd.Series) -> tuple[npt.NDArray[np.object_], BoolArray]:
    """Values as stripped strings (object array) and the mask of missing or blank ones."""
    raw = values.to_numpy(dtype=object)
    text = np.array(["" if _is_missing(v) else str(v).strip() for v in raw], dtype=object)
    return text, text == ""


def _is_missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def parse_numbers(
    values: pd.Series,
    *,
    column: str,
    source: str,
    lines: npt.NDArray[np.int64],
) -> FloatArray:
    """Parse a numeric or text column to finite ``float64``.

    Raises:
        DataError: at the first missing, unparsable or non-finite value.
    """
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        numbers = values.to_numpy(dtype=np.float64, na_value=np.nan)
        bad = ~np.isfinite(numbers)
        if bad.any():
            i = _first(bad)
            what = "missing value" if np.isnan(numbers[i]) else "non-finite number"
            raise DataError(what, source=source, line=int(lines[i]), column=column)
        return numbers
    text, blank = _stripped_strings(values)
    numbers = pd.to_numeric(pd.Series(text, dtype=object), errors="coerce").to_numpy(
        dtype=np.float64, na_value=np.nan
    )
    bad = blank | ~np.isfinite(numbers)
    if bad.any():
        i = _first(bad)
        what = "missing value" if blank[i] else f"{_shown(text[i])} is not a finite number"
        raise DataError(what, source=source, line=int(lines[i]), column=column)
    return numbers


def parse_dates(
    values: pd.Series,
    *,
    column: str,
    source: str,
    lines: npt.NDArray[np.int64],
    formats: Sequence[str],
) -> npt.NDArray[np.datetime64]:
    """Parse a date column to ``datetime64[ns]`` (tz-naive).

    Datetime columns pass through (tz-aware ones are converted to UTC, then made naive). Text
    (and integers such as ``19970101``) is parsed with the first of ``formats`` (strptime
    codes, or ``"ISO8601"``) that reads every value.

    Raises:
        DataError: at the first missing value, or at the first value the best-fitting format
            cannot read.
    """
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    if pd.api.types.is_datetime64_dtype(values.dtype):
        stamps = values.astype("datetime64[ns]").to_numpy()
        missing = np.isnat(stamps)
        if missing.any():
            i = _first(missing)
            raise DataError("missing date", source=source, line=int(lines[i]), column=column)
        return stamps
    if pd.api.types.is_float_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype):
        raise DataError(
            f"expected dates, got a column of dtype {values.dtype}",
            source=source,
            column=column,
        )
    text, blank = _stripped_strings(values)
    if blank.any():
        i = _first(blank)
        raise DataError("missing date", source=source, line=int(lines[i]), column=column)
    as_series = pd.Series(text, dtype=object)
    best: tuple[int, str, BoolArray] | None = None
    for fmt in formats:
        parsed = pd.to_datetime(as_series, format=fmt, errors="coerce")
        failed = parsed.isna().to_numpy()
        if not failed.any():
            return parsed.astype("datetime64[ns]").to_numpy()
        if best is None or int(failed.sum()) < best[0]:
            best = (int(failed.sum()), fmt, failed)
    assert best is not None, "formats must not be empty"
    _, fmt, failed = best
    i = _first(failed)
    raise DataError(
        f"{_shown(text[i])} is not a date in format {fmt!r}",
        source=source,
        line=int(lines[i]),
        column=column,
    )


def clean_customer_ids(values: pd.Series) -> tuple[npt.NDArray[np.object_], BoolArray]:
    """Customer ids as clean strings, and the mask of missing ones.

    Spreadsheets and float columns turn ``12346`` into ``12346.0``; integral floats (and
    strings like ``"12346.0"``) come back as ``"12346"``. Other strings are only stripped.
    Missing values (NaN, None, blank) are reported in the mask and set to ``""``.
    """
    if pd.api.types.is_integer_dtype(values.dtype) and not values.hasnans:
        ids = values.astype(np.int64).astype(str).to_numpy(dtype=object)
        return ids, np.zeros(len(ids), dtype=bool)
    raw = values.to_numpy(dtype=object)
    ids = np.array([_clean_id(v) for v in raw], dtype=object)
    return ids, ids == ""


def _clean_id(value: object) -> str:
    if _is_missing(value):
        return ""
    if isinstance(value, float | np.floating):
        number = float(value)
        if not math.isfinite(number):
            return ""
        return str(int(number)) if number.is_integer() else repr(number)
    if isinstance(value, int | np.integer):
        return str(int(value))
    text = str(value).strip()
    match = _INTEGRAL_DECIMAL.match(text)
    return match.group(1) if match else text
