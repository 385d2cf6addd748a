"""What each customer did up to the as-of date, as a partner's insight report shows it."""

from __future__ import annotations

import numpy as np
import pandas as pd

from insight.protocol import collapse_daily, truncate_events


def customer_history(events: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Per customer with an event on or before ``as_of`` (indexed by ``customer_id``, sorted):
    ``recency_weeks`` (weeks from the last purchase day to ``as_of``), ``purchase_days`` and
    ``past_spend`` (the sum of amounts; 0 for a log without amounts)."""
    as_of = pd.Timestamp(as_of).normalize()
    daily = truncate_events(collapse_daily(events), as_of)
    grouped = daily.groupby("customer_id", sort=True)
    last = grouped["timestamp"].max().dt.normalize()
    out = pd.DataFrame(
        {
            "recency_weeks": ((as_of - last) / pd.Timedelta(days=7)).astype(np.float64),
            "purchase_days": grouped.size().astype(np.int64),
            "past_spend": grouped["amount"].sum().astype(np.float64),
        }
    )
    out.index = out.index.astype(str)
    out.index.name = "customer_id"
    return out
