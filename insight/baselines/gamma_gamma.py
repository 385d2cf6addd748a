"""The gamma-gamma spend model of Fader, Hardie & Lee (2005), "RFM and CLV".

A customer's transactions are worth ``z ~ Gamma(shape p, rate nu)`` each, and ``nu`` varies
across customers as ``Gamma(shape q, rate gamma)``; spend is independent of how often a
customer buys. A customer is summarised by ``x`` transactions of mean value ``m``. The mean
value of one transaction in the population is ``p * gamma / (q - 1)`` (for ``q > 1``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import special

from insight.baselines.log_mle import minimize_over_logs

__all__ = ["GammaGammaParams", "fit_gamma_gamma", "gamma_gamma_log_likelihood"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class GammaGammaParams:
    """Fitted gamma-gamma parameters and the log-likelihood they reach on the fitting data."""

    p: float
    q: float
    gamma: float
    log_likelihood: float

    @property
    def mean_transaction_value(self) -> float:
        """Population mean of one transaction's value; infinite when ``q <= 1``."""
        return self.p * self.gamma / (self.q - 1.0) if self.q > 1.0 else float("inf")


def _terms(p: float, q: float, gamma: float, x: FloatArray, m: FloatArray) -> FloatArray:
    """Per-customer log density of the mean value ``m`` of ``x`` transactions."""
    px = p * x
    terms: FloatArray = (
        special.gammaln(px + q)
        - special.gammaln(px)
        - special.gammaln(q)
        + q * np.log(gamma)
        + (px - 1.0) * np.log(m)
        + px * np.log(x)
        - (px + q) * np.log(gamma + m * x)
    )
    return terms


def gamma_gamma_log_likelihood(
    params: GammaGammaParams, x: npt.ArrayLike, m: npt.ArrayLike
) -> float:
    """Log-likelihood of mean transaction values ``m`` over ``x`` transactions each."""
    xs, ms = _checked(x, m)
    return float(_terms(params.p, params.q, params.gamma, xs, ms).sum())


def _checked(x: npt.ArrayLike, m: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    xs = np.asarray(x, dtype=np.float64).ravel()
    ms = np.asarray(m, dtype=np.float64).ravel()
    if xs.shape != ms.shape:
        raise ValueError("x and m must have the same length")
    if xs.size == 0 or np.any(xs < 1) or np.any(ms <= 0) or not np.all(np.isfinite(ms)):
        raise ValueError("gamma-gamma needs customers with x >= 1 and a positive finite mean m")
    return xs, ms


def fit_gamma_gamma(x: npt.ArrayLike, m: npt.ArrayLike) -> GammaGammaParams:
    """Maximum-likelihood gamma-gamma parameters, over the logs of ``(p, q, gamma)``.

    Requires every ``x >= 1`` and ``m > 0`` (callers pass customers with at least one valued
    transaction; Fader, Hardie & Lee use repeat transactions only).

    Raises:
        ValueError: for empty or invalid inputs.
        InsightError: if no starting point reaches a finite optimum.
    """
    xs, ms = _checked(x, m)

    def negative_ll(log_params: FloatArray) -> float:
        p, q, gamma = np.exp(log_params)
        value = -float(_terms(p, q, gamma, xs, ms).sum())
        return value if np.isfinite(value) else np.inf

    mean = float(ms.mean())
    starts = [np.log([1.0, 2.0, mean]), np.log([5.0, 4.0, 3.0 * mean]), np.log([2.0, 1.5, mean])]
    log_params, minimum = minimize_over_logs(negative_ll, starts, model="gamma-gamma")
    p, q, gamma = (float(v) for v in np.exp(log_params))
    return GammaGammaParams(p=p, q=q, gamma=gamma, log_likelihood=-minimum)
