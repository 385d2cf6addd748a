"""Per-customer scores, segments and explanations from a trained model, for one partner."""

from insight.scoring.explain import GROUPS, AverageCustomer, Explanations, explain, top_drivers
from insight.scoring.history import customer_history
from insight.scoring.process import BuyingProcess, count_cdf, count_interval, weekly_discount
from insight.scoring.segments import SEGMENTS, churn_risk, rfm_segments
from insight.scoring.table import NO_AMOUNTS_NOTE, ScoreOptions, ScoreResult, score_customers
from insight.scoring.validation import (
    ValidationWindow,
    decile_calibration,
    gain_curve,
    normalized_gini,
    validation_window,
)

__all__ = [
    "GROUPS",
    "NO_AMOUNTS_NOTE",
    "SEGMENTS",
    "AverageCustomer",
    "BuyingProcess",
    "Explanations",
    "ScoreOptions",
    "ScoreResult",
    "ValidationWindow",
    "churn_risk",
    "count_cdf",
    "count_interval",
    "customer_history",
    "decile_calibration",
    "explain",
    "gain_curve",
    "normalized_gini",
    "rfm_segments",
    "score_customers",
    "top_drivers",
    "validation_window",
    "weekly_discount",
]
