"""Per-customer scores, segments and explanations from a trained model, for one partner."""

from insight.scoring.explain import GROUPS, AverageCustomer, Explanations, explain, top_drivers
from insight.scoring.process import BuyingProcess, count_cdf, count_interval, weekly_discount
from insight.scoring.segments import SEGMENTS, churn_risk, rfm_segments
from insight.scoring.table import NO_AMOUNTS_NOTE, ScoreOptions, ScoreResult, score_customers

__all__ = [
    "GROUPS",
    "NO_AMOUNTS_NOTE",
    "SEGMENTS",
    "AverageCustomer",
    "BuyingProcess",
    "Explanations",
    "ScoreOptions",
    "ScoreResult",
    "churn_risk",
    "count_cdf",
    "count_interval",
    "explain",
    "rfm_segments",
    "score_customers",
    "top_drivers",
    "weekly_discount",
]
