"""The per-customer score table of one partner: a model applied to the partner's own events.

Columns (see ``docs/scoring.md`` for each derivation):

==========================  ===============================================================
``customer_id``             the id in the events given (the node maps pseudonyms back)
``p_alive``                 the model's ``pi``: probability the customer is active at as-of
``p_purchase``              P(N(h) > 0), the model's forecast
``expected_purchases``      E[N(h)], the model's forecast
``expected_purchases_p10``  low end of the 80% interval of N(h) under the buying process
``expected_purchases_p90``  its high end (`insight.scoring.process.count_interval`)
``expected_spend``          E[spend in h] (only when the events have amounts)
``clv``, ``clv_p10/p90``    discounted spend over h and its interval (only with amounts)
``churn_risk``              thresholds on ``p_alive`` (`insight.scoring.segments`)
``segment``                 RFM segment on the partner's own customers
``top_drivers``             three strongest feature groups (`insight.scoring.explain`)
==========================  ===============================================================
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from insight.errors import InsightError
from insight.features import FeatureConfig, WindowSet, build_prediction_windows
from insight.models import CustomerSequenceModel
from insight.protocol import collapse_daily, truncate_events
from insight.scoring.explain import GROUPS, AverageCustomer, explain, top_drivers
from insight.scoring.process import (
    BuyingProcess,
    count_interval,
    discounted_value,
    weekly_discount,
)
from insight.scoring.segments import churn_risk, rfm_segments

logger = logging.getLogger(__name__)

NO_AMOUNTS_NOTE = (
    "the events hold no amounts: expected_spend and the clv columns are left out, and the "
    "amounts feature group explains next to nothing (every customer's amounts are alike)"
)


@dataclass(frozen=True)
class ScoreOptions:
    as_of: pd.Timestamp
    horizon_weeks: float
    features: FeatureConfig = field(default_factory=FeatureConfig)
    has_amounts: bool = True
    discount_rate: float = 0.10
    explain: bool = True
    batch_size: int = 4096
    chunk_customers: int = 100_000


@dataclass(frozen=True)
class ScoreResult:
    """``table`` (one row per customer, sorted by id), global driver importance (None without
    explanations), the largest completeness error seen, and notes for the reader."""

    table: pd.DataFrame
    importance: dict[str, float] | None
    max_completeness_error: float | None
    notes: list[str]


def score_customers(
    model: CustomerSequenceModel, events: pd.DataFrame, options: ScoreOptions
) -> ScoreResult:
    """Score every customer with an event on or before ``options.as_of``.

    Customers are featurised and scored ``options.chunk_customers`` at a time, so memory stays
    bounded for a million customers; segments use every customer at once. Explanations take a
    second pass, since their baseline is the average over all customers.

    Raises:
        InsightError: no event on or before the as-of date, or a horizon that is not positive.
    """
    if not options.horizon_weeks > 0:
        raise InsightError(f"the horizon must be positive, got {options.horizon_weeks} weeks")
    as_of = pd.Timestamp(options.as_of).normalize()
    daily = truncate_events(collapse_daily(events), as_of)  # sorted by customer, then day
    if daily.empty:
        raise InsightError(f"no events on or before the as-of date {as_of.date()}")
    chunks = _chunks(daily, options.chunk_customers)
    parts, average = [], AverageCustomer()
    for chunk in chunks:
        windows = _windows(chunk, as_of, options)
        parts.append(_score_chunk(model, windows, options))
        average.add(windows)
    table = pd.concat(parts, ignore_index=True)
    notes = [] if options.has_amounts else [NO_AMOUNTS_NOTE]
    table["churn_risk"] = churn_risk(table["p_alive"].to_numpy())
    table["segment"] = _segments(daily, table["customer_id"].to_numpy(), as_of)
    importance, max_error = None, None
    if options.explain:
        found = [explain(model, _windows(c, as_of, options), average=average) for c in chunks]
        groups = np.concatenate([e.groups for e in found])
        table["top_drivers"] = top_drivers(groups)
        importance = {g: float(v) for g, v in zip(GROUPS, np.abs(groups).mean(axis=0), strict=True)}
        max_error = max(float(np.abs(e.delta).max(initial=0.0)) for e in found)
    else:
        notes.append("explanations were not computed: no top_drivers column")
    logger.info("scored %d customers", len(table))
    return ScoreResult(table, importance, max_error, notes)


def _chunks(daily: pd.DataFrame, size: int) -> list[pd.DataFrame]:
    """``daily`` cut between customers, ``size`` customers a piece (requires it sorted by id)."""
    ids = daily["customer_id"].to_numpy()
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    cuts = [*starts[::size].tolist(), len(daily)]
    return [daily.iloc[lo:hi] for lo, hi in itertools.pairwise(cuts)]


def _windows(chunk: pd.DataFrame, as_of: pd.Timestamp, options: ScoreOptions) -> WindowSet:
    return build_prediction_windows(
        chunk, calibration_end=as_of, horizon_weeks=options.horizon_weeks, config=options.features
    )


def _score_chunk(
    model: CustomerSequenceModel, windows: WindowSet, options: ScoreOptions
) -> pd.DataFrame:
    proc, p_purchase, expected = _process(model, windows, options.batch_size)
    horizon = windows.horizon[:, 0].astype(np.float64)
    low, high = count_interval(proc, horizon, 0.8)
    table = pd.DataFrame(
        {
            "customer_id": windows.customer_ids.astype(str),
            "p_alive": proc.pi,
            "p_purchase": p_purchase,
            "expected_purchases": expected,
            "expected_purchases_p10": low,
            "expected_purchases_p90": high,
        }
    )
    if options.has_amounts:
        _add_value(table, proc, horizon, expected, (low, high), options.discount_rate)
    return table


@torch.no_grad()
def _process(
    model: CustomerSequenceModel, windows: WindowSet, batch_size: int
) -> tuple[BuyingProcess, np.ndarray, np.ndarray]:
    """The buying process per customer, and the model's own P(any) and E[N] forecasts.

    Customers are batched by sequence length and each batch is cut after its longest sequence:
    real steps come first, the model zeroes padding before each convolution and pools over real
    steps only, so trailing padding changes nothing but the time taken.
    """
    model.eval()
    lengths = windows.mask[:, 0].sum(axis=1)
    order = np.argsort(lengths, kind="stable")
    out = np.zeros((6, windows.num_customers), dtype=np.float64)
    for lo in range(0, windows.num_customers, batch_size):
        rows = order[lo : lo + batch_size]
        cut = max(1, int(lengths[rows].max()))
        horizon = torch.from_numpy(windows.horizon[rows, 0])
        params = model(
            torch.from_numpy(windows.seq[rows, 0, :cut]),
            torch.from_numpy(windows.mask[rows, 0, :cut]),
            torch.from_numpy(windows.static[rows, 0]),
        )
        fc = model.forecast(params, horizon)
        for i, t in enumerate((*model.process(params), fc.prob_any, fc.expected_purchases)):
            out[i, rows] = t.double().numpy()
    pi, lam, mu, spend, p_any, expected = out
    return BuyingProcess(pi=pi, lam=lam, mu=mu, spend=spend), p_any, expected


def _add_value(
    table: pd.DataFrame,
    proc: BuyingProcess,
    horizon: np.ndarray,
    expected: np.ndarray,
    interval: tuple[np.ndarray, np.ndarray],
    discount_rate: float,
) -> None:
    """expected_spend, and clv with its interval: the count's interval times the spend per
    purchase, at the discount factor that makes the mean exactly ``clv``."""
    delta = weekly_discount(discount_rate)
    clv = discounted_value(proc, horizon, delta)
    undiscounted = expected * proc.spend
    factor = np.divide(clv, undiscounted, out=np.ones_like(clv), where=undiscounted > 0)
    table["expected_spend"] = undiscounted
    table["clv"] = clv
    table["clv_p10"] = interval[0] * proc.spend * factor
    table["clv_p90"] = interval[1] * proc.spend * factor


def _segments(daily: pd.DataFrame, ids: np.ndarray, as_of: pd.Timestamp) -> np.ndarray:
    days = daily["timestamp"].to_numpy("datetime64[D]").astype(np.int64)
    frame = pd.DataFrame({"customer_id": daily["customer_id"].to_numpy(), "day": days})
    grouped = frame.groupby("customer_id", sort=True)["day"].agg(["min", "max", "size"])
    grouped = grouped.reindex(ids.astype(str))
    today = as_of.to_datetime64().astype("datetime64[D]").astype(np.int64)
    return rfm_segments(
        recency_weeks=(today - grouped["max"].to_numpy(np.float64)) / 7,
        purchase_days=grouped["size"].to_numpy(np.float64),
        tenure_weeks=(today - grouped["min"].to_numpy(np.float64)) / 7,
    )
