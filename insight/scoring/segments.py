"""RFM segments and churn risk, computed by a partner on its own customers only.

Segments (the first rule that matches, in this order):

- ``new``: first purchase less than `NEW_WEEKS` weeks before the as-of date;
- ``champions``: recency score >= 4 and frequency score >= 4;
- ``loyal``: recency score >= 3 and frequency score >= 3;
- ``at risk``: recency score <= 2 and frequency score >= 3 (bought often, not lately);
- ``hibernating``: recency score <= 2 and frequency score <= 2;
- ``promising``: the rest (recency score >= 3, frequency score <= 2).

The scores are quintiles within the partner's own customers (1 worst, 5 best): recency is the
weeks since the last purchase (fewer is better), frequency the number of purchase days. Ties
share their average rank, so the many one-time buyers of a customer base get one score.
Monetary value is not used, so logs without amounts get the same segments; a customer's value
is in the ``clv`` column.

Churn risk reads the model's ``p_alive``: ``high`` below `CHURN_HIGH_BELOW`, ``medium`` below
`CHURN_MEDIUM_BELOW`, else ``low``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

NEW_WEEKS = 13.0
CHURN_HIGH_BELOW = 0.4
CHURN_MEDIUM_BELOW = 0.7
SEGMENTS = ("champions", "loyal", "at risk", "hibernating", "promising", "new")


def quintile_scores(values: npt.ArrayLike, *, higher_is_better: bool) -> npt.NDArray[np.int64]:
    """1..5 by percentile rank within ``values`` (ties share their average rank)."""
    series = pd.Series(np.asarray(values, dtype=np.float64))
    pct = series.rank(pct=True, method="average", ascending=higher_is_better).to_numpy()
    scores: npt.NDArray[np.int64] = np.clip(np.ceil(pct * 5), 1, 5).astype(np.int64)
    return scores


def rfm_segments(
    *,
    recency_weeks: npt.ArrayLike,
    purchase_days: npt.ArrayLike,
    tenure_weeks: npt.ArrayLike,
) -> npt.NDArray[np.object_]:
    """The segment of each customer (see module doc)."""
    r = quintile_scores(recency_weeks, higher_is_better=False)
    f = quintile_scores(purchase_days, higher_is_better=True)
    tenure = np.asarray(tenure_weeks, dtype=np.float64)
    conditions = [
        tenure < NEW_WEEKS,
        (r >= 4) & (f >= 4),
        (r >= 3) & (f >= 3),
        (r <= 2) & (f >= 3),
        (r <= 2) & (f <= 2),
    ]
    choices = ["new", "champions", "loyal", "at risk", "hibernating"]
    out: npt.NDArray[np.object_] = np.select(conditions, choices, default="promising").astype(
        object
    )
    return out


def churn_risk(p_alive: npt.ArrayLike) -> npt.NDArray[np.object_]:
    """``low`` / ``medium`` / ``high`` by the documented thresholds on ``p_alive``."""
    p = np.asarray(p_alive, dtype=np.float64)
    out: npt.NDArray[np.object_] = np.select(
        [p < CHURN_HIGH_BELOW, p < CHURN_MEDIUM_BELOW], ["high", "medium"], default="low"
    ).astype(object)
    return out
