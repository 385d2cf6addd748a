"""Evaluation as a charged query: the metrics a partner returns are bounded per customer, noised
with the Gaussian mechanism and charged to its ledger like a round of training.

An evaluation scores a model the coordinator chose on the partner's holdout data. Released
exactly, its figures are a query the coordinator may repeat at will: totals before and after a
customer's erasure give that customer's holdout spend. So the partner releases only

* a histogram of the model's P(any repeat) over ``AUC_BINS`` equal bins of [0, 1], split by the
  customer's holdout label (``any_repeat``): each customer adds 1 to one of ``2 * AUC_BINS``
  cells;
* the sum of ``min(|predicted - actual| holdout purchases, PURCHASES_BOUND) / PURCHASES_BOUND``;
* the sum of ``min(|predicted - actual| holdout spend, SPEND_BOUND) / SPEND_BOUND``,

each coordinate plus Gaussian noise of standard deviation ``noise_multiplier * SENSITIVITY``.
One customer changes this vector by at most ``SENSITIVITY = sqrt(3)`` in L2 norm (add or remove
one customer: one histogram cell by 1, each error sum by at most 1), so one evaluation is the
Gaussian mechanism with noise multiplier ``noise_multiplier``: in the ledger, one step at sample
rate 1. What the coordinator receives (customer count, AUC, the two mean absolute errors) is
computed from the noisy vector: post-processing, free. Exact totals are never released.

Notes:
    The noise is drawn from the operating system's entropy (``numpy.random.default_rng()``), not
    from the run's seed: a coordinator that knows the seed must not be able to subtract it.
    Mean absolute errors are of the clipped errors: a customer whose error passes a bound counts
    at the bound.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from privacy.config import check_positive

__all__ = [
    "AUC_BINS",
    "PURCHASES_BOUND",
    "SENSITIVITY",
    "SPEND_BOUND",
    "EvaluationQuery",
    "evaluation_vector",
    "noisy_vector",
    "private_evaluation",
]

AUC_BINS = 20
PURCHASES_BOUND = 10.0
SPEND_BOUND = 500.0
SENSITIVITY = math.sqrt(3.0)

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class EvaluationQuery:
    """A partner's predictions and holdout truths, aligned per customer (the inputs of one
    evaluation). ``any_repeat`` is boolean; the rest are finite floats."""

    pred_any: FloatArray
    pred_purchases: FloatArray
    pred_spend: FloatArray
    actual_purchases: FloatArray
    actual_spend: FloatArray
    any_repeat: npt.NDArray[np.bool_]


def evaluation_vector(query: EvaluationQuery) -> FloatArray:
    """The exact sum over customers of their bounded contributions (module doc); never released
    as is. Length ``2 * AUC_BINS + 2``: negatives' histogram, positives' histogram, the two
    clipped error sums."""
    bins = np.clip((np.asarray(query.pred_any) * AUC_BINS).astype(np.int64), 0, AUC_BINS - 1)
    label = np.asarray(query.any_repeat, dtype=bool)
    hist = np.zeros(2 * AUC_BINS, dtype=np.float64)
    np.add.at(hist, bins + AUC_BINS * label.astype(np.int64), 1.0)
    err_p = np.minimum(np.abs(query.pred_purchases - query.actual_purchases), PURCHASES_BOUND)
    err_s = np.minimum(np.abs(query.pred_spend - query.actual_spend), SPEND_BOUND)
    sums = np.array([err_p.sum() / PURCHASES_BOUND, err_s.sum() / SPEND_BOUND])
    return np.concatenate([hist, sums])


def noisy_vector(
    query: EvaluationQuery,
    *,
    noise_multiplier: float | None,
    rng: np.random.Generator | None = None,
) -> FloatArray:
    """``evaluation_vector`` plus Gaussian noise of standard deviation ``noise_multiplier *
    SENSITIVITY`` on every coordinate (none when ``noise_multiplier`` is None)."""
    exact = evaluation_vector(query)
    if noise_multiplier is None:
        return exact
    check_positive("noise_multiplier", noise_multiplier)
    gen = rng if rng is not None else np.random.default_rng()
    noisy: FloatArray = exact + gen.normal(0.0, noise_multiplier * SENSITIVITY, size=exact.shape)
    return noisy


def private_evaluation(
    query: EvaluationQuery,
    *,
    noise_multiplier: float | None,
    rng: np.random.Generator | None = None,
) -> dict[str, float]:
    """The metrics one evaluation releases: ``n_customers``, ``auc_any_repeat``,
    ``mae_purchases`` and ``mae_spend`` (NaN-valued ones left out).

    ``noise_multiplier`` None releases them without noise (only for a partner without a
    budget, in a run without DP); with a noise multiplier the caller must charge the release to
    the ledger as one step at sample rate 1 before the figures leave the partner.
    """
    noisy = noisy_vector(query, noise_multiplier=noise_multiplier, rng=rng)
    neg = np.maximum(noisy[:AUC_BINS], 0.0)
    pos = np.maximum(noisy[AUC_BINS : 2 * AUC_BINS], 0.0)
    n = float(neg.sum() + pos.sum())
    out = {"n_customers": float(max(round(n), 0))}
    auc = _binned_auc(neg, pos)
    if math.isfinite(auc):
        out["auc_any_repeat"] = auc
    if n >= 1:
        out["mae_purchases"] = float(np.clip(noisy[-2] / n, 0, 1) * PURCHASES_BOUND)
        out["mae_spend"] = float(np.clip(noisy[-1] / n, 0, 1) * SPEND_BOUND)
    return out


def _binned_auc(neg: FloatArray, pos: FloatArray) -> float:
    """AUC of scores known by bin only: a positive beats the negatives of lower bins and ties
    (counts one half) with those of its own bin. NaN when a class is (nearly) empty."""
    n_neg, n_pos = float(neg.sum()), float(pos.sum())
    if n_neg < 1 or n_pos < 1:
        return float("nan")
    below = np.concatenate([[0.0], np.cumsum(neg)[:-1]])
    return float(np.clip(((below + neg / 2) * pos).sum() / (n_neg * n_pos), 0.0, 1.0))
