"""The calibration / holdout protocol of Fader, Hardie & Lee (2005), "Counting your customers
the easy way".

* Transactions are collapsed to one per customer and day (several orders on one day are one
  purchase occasion).
* Time is measured in weeks, as whole days divided by seven.
* The calibration cohort is every customer whose first purchase falls on or before
  ``calibration_end``; a customer first seen in the holdout is not in it.
* For each cohort member, ``x`` counts the repeat purchase days in calibration, ``t_x`` is the
  time from the first to the last calibration purchase and ``T`` the time from the first
  purchase to ``calibration_end``. Days are treated as points, so a customer whose first
  purchase is 1997-01-01 has ``T = (1997-09-30 - 1997-01-01) / 7 = 38.857`` weeks: the value in
  Fader and Hardie's published CDNOW summary (38.86), whose BG/NBD fit the tests pin.
* The holdout is ``(calibration_end, holdout_end]``; its length in the same units is
  ``holdout_weeks`` (39 for CDNOW).

Everything derived from calibration goes through `truncate_events`, so altering, adding or
removing holdout events can change nothing but `holdout_targets`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "Periods",
    "calibration_summary",
    "collapse_daily",
    "holdout_targets",
    "holdout_weeks",
    "truncate_events",
]

_DAYS_PER_WEEK = 7.0
_SUMMARY_COLUMNS = ("x", "t_x", "T", "monetary", "first_purchase")
_TARGET_COLUMNS = ("purchases", "spend", "any_repeat")


@dataclass(frozen=True)
class Periods:
    """Calibration and holdout ends, both inclusive days, and the calibration's public start.

    Calibration is every day up to and including ``calibration_end``; the holdout is
    ``(calibration_end, holdout_end]``. ``calibration_start`` (None: not fixed) is a public date
    the training windows are cut from (``insight.features.build_training_windows``); events
    before it are dropped. All are normalised to midnight on construction.

    Raises:
        ValueError: if ``holdout_end`` is not after ``calibration_end``, or
            ``calibration_start`` not before it.
    """

    calibration_end: pd.Timestamp
    holdout_end: pd.Timestamp
    calibration_start: pd.Timestamp | None = None

    def __post_init__(self) -> None:
        calibration_end = pd.Timestamp(self.calibration_end).normalize()
        holdout_end = pd.Timestamp(self.holdout_end).normalize()
        if holdout_end <= calibration_end:
            raise ValueError(
                f"holdout_end {holdout_end.date()} must be after "
                f"calibration_end {calibration_end.date()}"
            )
        if self.calibration_start is not None:
            start = pd.Timestamp(self.calibration_start).normalize()
            if start >= calibration_end:
                raise ValueError(
                    f"calibration_start {start.date()} must be before "
                    f"calibration_end {calibration_end.date()}"
                )
            object.__setattr__(self, "calibration_start", start)
        object.__setattr__(self, "calibration_end", calibration_end)
        object.__setattr__(self, "holdout_end", holdout_end)


def truncate_events(events: pd.DataFrame, end: pd.Timestamp) -> pd.DataFrame:
    """Return the events on or before day ``end`` (any time of that day), all columns kept.

    This is the one door through which anything fitted or featurised on calibration data sees
    events: pass ``periods.calibration_end`` and nothing later can leak in.
    """
    day_after = pd.Timestamp(end).normalize() + pd.Timedelta(days=1)
    kept = events.loc[events["timestamp"] < day_after]
    return kept.reset_index(drop=True)


def collapse_daily(events: pd.DataFrame) -> pd.DataFrame:
    """One row per customer and day: ``quantity`` and ``amount`` summed, extras dropped.

    ``timestamp`` becomes the day (midnight); rows are sorted by customer, then day.
    """
    day = events["timestamp"].dt.normalize()
    daily = (
        events.assign(timestamp=day)
        .groupby(["customer_id", "timestamp"], sort=True)[["quantity", "amount"]]
        .sum()
        .reset_index()
    )
    return daily


def holdout_weeks(periods: Periods) -> float:
    """Length of the holdout ``(calibration_end, holdout_end]`` in weeks."""
    return (periods.holdout_end - periods.calibration_end).days / _DAYS_PER_WEEK


def calibration_summary(events: pd.DataFrame, periods: Periods) -> pd.DataFrame:
    """Per-customer calibration statistics of the calibration cohort.

    Returns a frame indexed by ``customer_id`` (sorted) with columns

    * ``x`` (int): repeat purchase days in calibration, i.e. purchase days minus one;
    * ``t_x`` (float, weeks): from the first to the last calibration purchase day;
    * ``T`` (float, weeks): from the first purchase day to ``calibration_end``;
    * ``monetary`` (float): mean spend per calibration purchase day, the first one included,
      so that customers without repeats have a value too (Fader and Hardie's gamma-gamma
      ``zbar`` averages repeat purchases only);
    * ``first_purchase`` (datetime64[ns]): the first purchase day.

    Only events on or before ``calibration_end`` are read (via `truncate_events`).
    """
    daily = collapse_daily(truncate_events(events, periods.calibration_end))
    grouped = daily.groupby("customer_id", sort=True)
    first = grouped["timestamp"].min()
    last = grouped["timestamp"].max()
    days = grouped.size()
    spend = grouped["amount"].sum()
    summary = pd.DataFrame(
        {
            "x": (days - 1).astype(np.int64),
            "t_x": (last - first).dt.days.astype(np.float64) / _DAYS_PER_WEEK,
            "T": (periods.calibration_end - first).dt.days.astype(np.float64) / _DAYS_PER_WEEK,
            "monetary": (spend / days).astype(np.float64),
            "first_purchase": first.astype("datetime64[ns]"),
        },
        columns=list(_SUMMARY_COLUMNS),
    )
    summary.index = summary.index.astype("str")
    summary.index.name = "customer_id"
    return summary


def holdout_targets(events: pd.DataFrame, periods: Periods) -> pd.DataFrame:
    """What each calibration-cohort customer did in the holdout.

    Returns a frame indexed like `calibration_summary` (the cohort, sorted) with columns

    * ``purchases`` (int): purchase days in ``(calibration_end, holdout_end]``; every one is a
      repeat transaction, since cohort members bought first in calibration;
    * ``spend`` (float): money spent in the holdout;
    * ``any_repeat`` (bool): ``purchases > 0``.
    """
    cohort = pd.Index(
        np.sort(truncate_events(events, periods.calibration_end)["customer_id"].unique()),
        dtype="str",
        name="customer_id",
    )
    holdout = truncate_events(events, periods.holdout_end)
    holdout = holdout.loc[holdout["timestamp"].dt.normalize() > periods.calibration_end]
    daily = collapse_daily(holdout)
    grouped = daily.groupby("customer_id", sort=True)
    purchases = grouped.size().reindex(cohort, fill_value=0).astype(np.int64)
    spend = grouped["amount"].sum().reindex(cohort, fill_value=0.0).astype(np.float64)
    targets = pd.DataFrame(
        {"purchases": purchases, "spend": spend, "any_repeat": purchases > 0},
        index=cohort,
        columns=list(_TARGET_COLUMNS),
    )
    return targets
