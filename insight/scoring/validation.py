"""How well a partner's scores held up: on its latest window with known outcomes.

The validation window is the latest ``horizon`` whose purchases the partner's events show:

- ``(as_of, as_of + horizon]`` when the events reach to within `SLACK` of ``as_of + horizon``
  (a simulation scores as of the end of calibration, and the partner holds the holdout; a
  whole partner rarely goes a week without a purchase before its data ends): the score table
  itself is checked;
- otherwise ``(as_of - horizon, as_of]``: the customers are scored again as of
  ``as_of - horizon`` (no explanations) and checked against what they did since.

Purchases are purchase days, as everywhere (``insight.protocol.holdout_targets``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
import pandas as pd

from insight.models import CustomerSequenceModel
from insight.protocol import Periods, collapse_daily, holdout_targets, truncate_events
from insight.scoring.table import ScoreOptions, score_customers

FloatArray = npt.NDArray[np.float64]
SLACK = pd.Timedelta(days=7)


@dataclass(frozen=True)
class ValidationWindow:
    """Per customer of the window's cohort: predicted purchases and P(any), and what happened."""

    start: pd.Timestamp  # exclusive
    end: pd.Timestamp  # inclusive
    forward: bool  # True: the score table's own window; False: rescored as of ``start``
    predicted: FloatArray
    p_purchase: FloatArray
    actual: FloatArray


def validation_window(
    model: CustomerSequenceModel,
    events: pd.DataFrame,
    options: ScoreOptions,
    table: pd.DataFrame,
) -> ValidationWindow | None:
    """The window (see module doc), or None when no customer is in its cohort.

    ``table`` is the score table of ``score_customers(model, events, options)``, keyed by the
    ids in ``events``.
    """
    as_of = pd.Timestamp(options.as_of).normalize()
    horizon = pd.Timedelta(days=round(7 * options.horizon_weeks))
    daily = collapse_daily(events)
    last = pd.Timestamp(daily["timestamp"].max()).normalize()
    if last >= as_of + horizon - SLACK:
        start, scored, forward = as_of, table, True
    else:
        start, forward = as_of - horizon, False
        if truncate_events(daily, start).empty:
            return None
        back = replace(options, as_of=start, explain=False)
        scored = score_customers(model, daily, back).table
    end = start + horizon
    targets = holdout_targets(daily, Periods(calibration_end=start, holdout_end=end))
    scored = scored.set_index("customer_id").reindex(targets.index)
    if targets.empty or scored["expected_purchases"].isna().any():
        return None
    return ValidationWindow(
        start=start,
        end=end,
        forward=forward,
        predicted=scored["expected_purchases"].to_numpy(np.float64),
        p_purchase=scored["p_purchase"].to_numpy(np.float64),
        actual=targets["purchases"].to_numpy(np.float64),
    )


def decile_calibration(predicted: npt.ArrayLike, actual: npt.ArrayLike) -> pd.DataFrame:
    """Mean predicted and actual per decile of ``predicted`` (1 lowest .. 10 highest).

    Deciles are cut on the rank (ties broken by order), so each holds a tenth of the customers
    however many share a prediction. Columns ``customers``, ``predicted``, ``actual``.
    """
    p = np.asarray(predicted, dtype=np.float64)
    a = np.asarray(actual, dtype=np.float64)
    order = np.argsort(p, kind="stable")
    decile = np.empty(p.size, dtype=np.int64)
    decile[order] = np.arange(p.size) * 10 // max(p.size, 1) + 1
    frame = pd.DataFrame({"decile": decile, "predicted": p, "actual": a})
    grouped = frame.groupby("decile")
    return pd.DataFrame(
        {
            "customers": grouped.size(),
            "predicted": grouped["predicted"].mean(),
            "actual": grouped["actual"].mean(),
        }
    )


def gain_curve(predicted: npt.ArrayLike, actual: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Share of customers contacted (best predicted first) against the share of all actual
    purchases they made; both start at 0 and end at 1. Requires some actual purchase."""
    p = np.asarray(predicted, dtype=np.float64)
    a = np.asarray(actual, dtype=np.float64)
    ranked = a[np.argsort(-p, kind="stable")]
    total = ranked.sum()
    if not total > 0:
        raise ValueError("the gain curve needs at least one actual purchase")
    ys = np.r_[0.0, np.cumsum(ranked) / total]
    xs = np.linspace(0.0, 1.0, p.size + 1)
    return xs, ys


def normalized_gini(predicted: npt.ArrayLike, actual: npt.ArrayLike) -> float:
    """The model's Gini (twice the area between its gain curve and the diagonal) over the
    Gini of the perfect ordering (by ``actual`` itself): 1 is perfect, 0 is random order."""
    xs, model = gain_curve(predicted, actual)
    _, perfect = gain_curve(actual, actual)
    area = float(np.trapezoid(model - xs, xs))
    best = float(np.trapezoid(perfect - xs, xs))
    return area / best if best > 0 else float("nan")
