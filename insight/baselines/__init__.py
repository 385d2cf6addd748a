"""Classical probability-model baselines: BG/NBD and the naive run rate."""

from insight.baselines.bgnbd import (
    BGNBDParams,
    bgnbd_expected_purchases,
    bgnbd_expected_spend,
    bgnbd_log_likelihood,
    bgnbd_prob_alive,
    bgnbd_prob_any,
    fit_bgnbd,
)
from insight.baselines.naive import naive_rate

__all__ = [
    "BGNBDParams",
    "bgnbd_expected_purchases",
    "bgnbd_expected_spend",
    "bgnbd_log_likelihood",
    "bgnbd_prob_alive",
    "bgnbd_prob_any",
    "fit_bgnbd",
    "naive_rate",
]
