"""Classical probability-model baselines: BG/NBD, gamma-gamma spend and the naive run rate."""

from insight.baselines.bgnbd import (
    BGNBDParams,
    bgnbd_expected_purchases,
    bgnbd_expected_spend,
    bgnbd_log_likelihood,
    bgnbd_prob_alive,
    bgnbd_prob_any,
    fit_bgnbd,
)
from insight.baselines.gamma_gamma import (
    GammaGammaParams,
    fit_gamma_gamma,
    gamma_gamma_log_likelihood,
)
from insight.baselines.naive import naive_rate

__all__ = [
    "BGNBDParams",
    "GammaGammaParams",
    "bgnbd_expected_purchases",
    "bgnbd_expected_spend",
    "bgnbd_log_likelihood",
    "bgnbd_prob_alive",
    "bgnbd_prob_any",
    "fit_bgnbd",
    "fit_gamma_gamma",
    "gamma_gamma_log_likelihood",
    "naive_rate",
]
