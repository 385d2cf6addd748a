"""Sequence features per customer, built from calibration events only.

A *window* is a cutoff day ``cutoff`` and a horizon of ``horizon`` weeks. Its inputs are the
customer's (day-collapsed) transactions on or before ``cutoff``; its labels are the transactions in
``(cutoff, cutoff + horizon]``. Training windows lie wholly inside the calibration period, so no
label and no input ever comes from the holdout period. The evaluation window has its cutoff at the
end of calibration, its horizon the holdout length, and no labels: holdout targets are computed
elsewhere (``insight.protocol.holdout_targets``) and never pass through this module.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from insight.errors import InsightError

logger = logging.getLogger(__name__)

STEP_FEATURES = (
    "log_gap_weeks",
    "log_weeks_before_cutoff",
    "log_amount",
    "log_quantity",
    "season_sin",
    "season_cos",
    "is_first",
)
STATIC_FEATURES = (
    "log_repeat_count",
    "log_t_x",
    "log_T",
    "recency_fraction",
    "log_rate",
    "log_mean_amount",
    "log_horizon",
    "log_weeks_since_last",
)
_DAY = np.timedelta64(1, "D")
_WEEK_DAYS = 7.0

FloatArray = npt.NDArray[np.float32]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class FeatureConfig:
    """How windows are cut. ``max_events`` is the sequence length L (the last L transactions)."""

    max_events: int = 32
    num_windows: int = 4
    min_horizon_fraction: float = 1 / 6
    max_horizon_fraction: float = 2 / 3

    def __post_init__(self) -> None:
        if self.max_events < 1:
            raise ValueError("max_events must be >= 1")
        if self.num_windows < 1:
            raise ValueError("num_windows must be >= 1")
        if not 0 < self.min_horizon_fraction <= self.max_horizon_fraction < 1:
            raise ValueError("require 0 < min_horizon_fraction <= max_horizon_fraction < 1")


@dataclass(frozen=True)
class WindowSet:
    """Features of N customers at K cutoffs.

    Shapes: ``seq`` [N, K, L, F], ``mask`` [N, K, L], ``static`` [N, K, S], ``horizon`` [N, K]
    (weeks), ``valid`` [N, K] (the customer had bought on or before the cutoff). ``count`` and
    ``spend`` [N, K] are the labels of training windows; they are None for evaluation windows.
    """

    customer_ids: npt.NDArray[np.str_]
    seq: FloatArray
    mask: BoolArray
    static: FloatArray
    horizon: FloatArray
    valid: BoolArray
    count: FloatArray | None = None
    spend: FloatArray | None = None

    @property
    def num_customers(self) -> int:
        return int(self.seq.shape[0])

    def trainable(self) -> WindowSet:
        """The customers with at least one valid window (labels required)."""
        keep: BoolArray = np.asarray(self.valid.any(axis=1), dtype=bool)
        return _select(self, keep)

    def select(self, rows: npt.NDArray[np.bool_] | npt.NDArray[np.int64]) -> WindowSet:
        return _select(self, rows)


def _select(ws: WindowSet, rows: npt.NDArray[np.bool_] | npt.NDArray[np.int64]) -> WindowSet:
    return WindowSet(
        customer_ids=ws.customer_ids[rows],
        seq=ws.seq[rows],
        mask=ws.mask[rows],
        static=ws.static[rows],
        horizon=ws.horizon[rows],
        valid=ws.valid[rows],
        count=None if ws.count is None else ws.count[rows],
        spend=None if ws.spend is None else ws.spend[rows],
    )


def training_cutoffs(
    calibration_end: pd.Timestamp, calibration_start: pd.Timestamp, config: FeatureConfig
) -> list[tuple[pd.Timestamp, float]]:
    """Cutoffs and horizons (weeks) of the training windows, all inside the calibration period.

    Each window ends exactly at ``calibration_end``: cutoff = calibration_end - horizon.
    """
    span_weeks = (calibration_end - calibration_start) / pd.Timedelta(days=7)
    if span_weeks < 2:
        raise InsightError(
            f"calibration period is too short ({span_weeks:.1f} weeks) to cut training windows"
        )
    horizons = np.linspace(
        config.min_horizon_fraction * span_weeks,
        config.max_horizon_fraction * span_weeks,
        config.num_windows,
    )
    out = []
    for h in horizons:
        days = max(1, round(float(h) * _WEEK_DAYS))
        out.append((calibration_end - pd.Timedelta(days=days), days / _WEEK_DAYS))
    return out


def drop_before(daily_events: pd.DataFrame, start: pd.Timestamp | None) -> tuple[pd.DataFrame, int]:
    """``daily_events`` without the rows before day ``start`` (none dropped when None), and how
    many rows were dropped."""
    if start is None:
        return daily_events, 0
    keep = daily_events["timestamp"] >= pd.Timestamp(start).normalize()
    dropped = int((~keep).sum())
    return (daily_events.loc[keep].reset_index(drop=True) if dropped else daily_events), dropped


def build_training_windows(
    daily_events: pd.DataFrame,
    *,
    calibration_end: pd.Timestamp,
    config: FeatureConfig,
    calibration_start: pd.Timestamp | None = None,
) -> WindowSet:
    """Windows with labels, every one inside the calibration period.

    ``calibration_start`` sets the span the horizons are cut from; pass a public date (the run's
    ``calibration-start``) and drop the events before it (``drop_before``): then one customer's
    windows, features and labels depend on that customer's events only. Without it the span
    starts at the earliest event, and one early customer moves every customer's windows.
    Requires ``daily_events`` to be collapsed per customer-day and truncated at
    ``calibration_end`` (``insight.protocol.truncate_events``); an event after it raises
    ``InsightError`` rather than leaking holdout information, and so does an event before
    ``calibration_start``.
    """
    _check_truncated(daily_events, calibration_end)
    if calibration_start is not None:
        earliest = pd.Timestamp(daily_events["timestamp"].min())
        if earliest < calibration_start:
            raise InsightError(
                f"events before calibration-start ({earliest.date()} < "
                f"{calibration_start.date()}) reached feature building; drop them first"
            )
    start = calibration_start or pd.Timestamp(daily_events["timestamp"].min())
    cuts = training_cutoffs(calibration_end, start, config)
    return _build(daily_events, cuts, config, with_labels=True)


def build_prediction_windows(
    daily_events: pd.DataFrame,
    *,
    calibration_end: pd.Timestamp,
    horizon_weeks: float,
    config: FeatureConfig,
) -> WindowSet:
    """One window per customer at the end of calibration, for a ``horizon_weeks`` forecast."""
    _check_truncated(daily_events, calibration_end)
    return _build(daily_events, [(calibration_end, horizon_weeks)], config, with_labels=False)


def _check_truncated(daily_events: pd.DataFrame, calibration_end: pd.Timestamp) -> None:
    if daily_events.empty:
        raise InsightError("no calibration events to build features from")
    latest = pd.Timestamp(daily_events["timestamp"].max())
    if latest > calibration_end:
        raise InsightError(
            f"events after the end of calibration ({latest.date()} > {calibration_end.date()}) "
            "reached feature building; truncate them first"
        )


def _build(
    daily_events: pd.DataFrame,
    cuts: list[tuple[pd.Timestamp, float]],
    config: FeatureConfig,
    *,
    with_labels: bool,
) -> WindowSet:
    ev = daily_events.sort_values(["customer_id", "timestamp"], kind="stable")
    ids, starts = np.unique(ev["customer_id"].to_numpy(dtype=str), return_index=True)
    bounds = np.append(starts, len(ev))
    days_all = (ev["timestamp"].to_numpy("datetime64[D]") - np.datetime64("1970-01-01")) / _DAY
    days_all = days_all.astype(np.float64)
    amount_all = ev["amount"].to_numpy(np.float64)
    qty_all = ev["quantity"].to_numpy(np.float64)
    doy_all = ev["timestamp"].dt.day_of_year.to_numpy(np.float64)

    n, k, length = len(ids), len(cuts), config.max_events
    seq = np.zeros((n, k, length, len(STEP_FEATURES)), dtype=np.float32)
    mask = np.zeros((n, k, length), dtype=bool)
    static = np.zeros((n, k, len(STATIC_FEATURES)), dtype=np.float32)
    horizon = np.zeros((n, k), dtype=np.float32)
    valid = np.zeros((n, k), dtype=bool)
    count = np.zeros((n, k), dtype=np.float32)
    spend = np.zeros((n, k), dtype=np.float32)
    epoch = pd.Timestamp("1970-01-01")
    cut_days = [((c - epoch) / pd.Timedelta(days=1), h) for c, h in cuts]

    for i in range(n):
        lo, hi = bounds[i], bounds[i + 1]
        days = days_all[lo:hi]
        amount, qty, doy = amount_all[lo:hi], qty_all[lo:hi], doy_all[lo:hi]
        gaps = np.diff(days, prepend=days[0]) / _WEEK_DAYS
        cum_amount = np.cumsum(amount)
        for j, (cut, h) in enumerate(cut_days):
            horizon[i, j] = h
            seen = int(np.searchsorted(days, cut, side="right"))
            if seen == 0:
                continue
            valid[i, j] = True
            first = max(0, seen - length)
            steps = seen - first
            sl = slice(first, seen)
            seq[i, j, :steps, 0] = np.log1p(gaps[sl])
            seq[i, j, :steps, 1] = np.log1p((cut - days[sl]) / _WEEK_DAYS)
            seq[i, j, :steps, 2] = np.log1p(amount[sl])
            seq[i, j, :steps, 3] = np.log1p(qty[sl])
            angle = 2 * np.pi * doy[sl] / 365.25
            seq[i, j, :steps, 4] = np.sin(angle)
            seq[i, j, :steps, 5] = np.cos(angle)
            seq[i, j, :steps, 6] = (np.arange(first, seen) == 0).astype(np.float32)
            mask[i, j, :steps] = True
            repeat = seen - 1
            t_x = (days[seen - 1] - days[0]) / _WEEK_DAYS
            big_t = (cut - days[0]) / _WEEK_DAYS + 1 / _WEEK_DAYS
            static[i, j] = (
                np.log1p(repeat),
                np.log1p(t_x),
                np.log1p(big_t),
                (big_t - t_x) / big_t,
                np.log1p(repeat / big_t),
                np.log1p(cum_amount[seen - 1] / seen),
                np.log1p(h),
                np.log1p(big_t - t_x),
            )
            if with_labels:
                end = int(np.searchsorted(days, cut + h * _WEEK_DAYS, side="right"))
                count[i, j] = end - seen
                spend[i, j] = cum_amount[end - 1] - cum_amount[seen - 1] if end > seen else 0.0
    logger.debug("built %d windows for %d customers", int(valid.sum()), n)
    return WindowSet(
        customer_ids=ids,
        seq=seq,
        mask=mask,
        static=static,
        horizon=horizon,
        valid=valid,
        count=count if with_labels else None,
        spend=spend if with_labels else None,
    )
