"""Holdout metrics shared by every forecaster: one number set, computed one way."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = ["by_frequency_bucket", "evaluate", "roc_auc"]

FloatArray = npt.NDArray[np.float64]
Predictions = pd.Series | npt.ArrayLike


def roc_auc(scores: npt.ArrayLike, labels: npt.ArrayLike) -> float:
    """Area under the ROC curve, from ranks (the Mann-Whitney U statistic over n1 * n0).

    Tied scores share the average of the ranks they span, so a tie between a positive and a
    negative counts one half. Returns NaN when ``labels`` holds only one class.

    Raises:
        ValueError: on mismatched lengths or non-finite scores.
    """
    s = np.asarray(scores, dtype=np.float64).ravel()
    y = np.asarray(labels, dtype=bool).ravel()
    if s.shape != y.shape:
        raise ValueError(f"scores and labels differ in length ({s.size} vs {y.size})")
    if not np.isfinite(s).all():
        raise ValueError("scores must be finite")
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = _average_ranks(s)
    u = ranks[y].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def _average_ranks(values: FloatArray) -> FloatArray:
    """1-based ranks, ties given the mean of the ranks they occupy."""
    order = np.argsort(values, kind="mergesort")
    ordered = values[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    ends = np.r_[starts[1:], values.size]
    mean_rank = (starts + 1 + ends) / 2.0
    ranks = np.empty(values.size, dtype=np.float64)
    ranks[order] = np.repeat(mean_rank, ends - starts)
    return ranks


def _aligned(values: Predictions, index: pd.Index, name: str) -> FloatArray:
    """Predictions as a float array in ``index`` order (a Series is aligned by its index)."""
    if isinstance(values, pd.Series):
        missing = index.difference(values.index)
        if len(missing):
            raise ValueError(f"{name} lacks predictions for {len(missing)} customers")
        values = values.reindex(index)
    array = np.asarray(values, dtype=np.float64).ravel()
    if array.size != len(index):
        raise ValueError(f"{name} has {array.size} values for {len(index)} customers")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} must be finite")
    return array


def _pearson(a: FloatArray, b: FloatArray) -> float:
    if a.size < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def evaluate(
    pred_any: Predictions,
    pred_purchases: Predictions,
    pred_spend: Predictions,
    actual: pd.DataFrame,
) -> dict[str, float]:
    """Score holdout forecasts against `insight.protocol.holdout_targets`.

    Predictions are per customer: a Series is aligned to ``actual``'s index, an array must be
    in ``actual``'s order. Returns

    * ``auc_any_repeat``: ROC AUC of ``pred_any`` for ``actual.any_repeat`` (`roc_auc`);
    * ``corr_purchases``: Pearson correlation of predicted and actual holdout purchases;
    * ``mae_purchases``, ``mae_spend``: mean absolute errors per customer;
    * ``predicted_total_purchases``, ``actual_total_purchases``, ``predicted_total_spend``,
      ``actual_total_spend``: aggregate tracking totals over the cohort;
    * ``n_customers``.

    AUC and correlation are NaN where undefined (one class only, constant input).
    """
    index = actual.index
    p_any = _aligned(pred_any, index, "pred_any")
    p_purchases = _aligned(pred_purchases, index, "pred_purchases")
    p_spend = _aligned(pred_spend, index, "pred_spend")
    purchases = actual["purchases"].to_numpy(dtype=np.float64)
    spend = actual["spend"].to_numpy(dtype=np.float64)
    any_repeat = actual["any_repeat"].to_numpy(dtype=bool)
    n = len(index)
    return {
        "auc_any_repeat": roc_auc(p_any, any_repeat),
        "corr_purchases": _pearson(p_purchases, purchases),
        "mae_purchases": float(np.mean(np.abs(p_purchases - purchases))) if n else float("nan"),
        "mae_spend": float(np.mean(np.abs(p_spend - spend))) if n else float("nan"),
        "predicted_total_purchases": float(p_purchases.sum()),
        "actual_total_purchases": float(purchases.sum()),
        "predicted_total_spend": float(p_spend.sum()),
        "actual_total_spend": float(spend.sum()),
        "n_customers": n,
    }


def by_frequency_bucket(
    pred: npt.ArrayLike,
    actual: npt.ArrayLike,
    x: npt.ArrayLike,
    *,
    top: int = 7,
) -> pd.DataFrame:
    """Mean predicted vs actual holdout purchases by calibration frequency.

    Buckets are ``x = 0, 1, ..., top - 1`` and ``top+`` (the conditional-expectation plot of
    Fader, Hardie & Lee 2005, Figure 4). Returns a frame indexed by bucket label
    (``"0"`` ... ``"7+"``) with columns ``n_customers``, ``predicted``, ``actual``; empty
    buckets are kept with NaN means.
    """
    p = np.asarray(pred, dtype=np.float64).ravel()
    a = np.asarray(actual, dtype=np.float64).ravel()
    xs = np.asarray(x, dtype=np.float64).ravel()
    if not p.size == a.size == xs.size:
        raise ValueError("pred, actual and x must have the same length")
    bucket = np.minimum(xs, top).astype(np.int64)
    labels = [str(k) for k in range(top)] + [f"{top}+"]
    frame = pd.DataFrame({"bucket": bucket, "predicted": p, "actual": a})
    grouped = frame.groupby("bucket")
    table = pd.DataFrame(
        {
            "n_customers": grouped.size(),
            "predicted": grouped["predicted"].mean(),
            "actual": grouped["actual"].mean(),
        }
    ).reindex(range(top + 1))
    table["n_customers"] = table["n_customers"].fillna(0).astype(np.int64)
    table.index = pd.Index(labels, name="x")
    return table
