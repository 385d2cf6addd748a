"""The model's buying process as a distribution: purchase-count quantiles and discounted value.

`insight.models.CustomerSequenceModel` predicts, per customer, the parameters of a small process:
active now with probability ``pi``; while active, purchases arrive as a Poisson process of rate
``lam`` a week; activity ends after an exponential time of rate ``mu``; each purchase is worth
``spend`` on average. For a horizon of ``h`` weeks the number of purchases ``N`` then has the
exact distribution (``r = lam / (lam + mu)``)::

    P(N = k) = (1 - pi) [k = 0]
             + pi * ( mu / (lam + mu) * r**k * P(Gamma(k + 1) <= (lam + mu) h)
                      + exp(-mu h) * Poisson(k; lam h) )

the first term a customer who is no longer active, the second one whose activity ends inside the
horizon (the lifetime integrated out in closed form: the regularized incomplete gamma), the
third one still active at its end. Its quantiles give the 80% interval of the purchase count.

Discounting: money spent at week ``t`` is worth ``exp(-delta t)`` now, with the weekly rate
``delta = log(1 + annual_rate) / (365.25 / 7)``. The expected discounted value is
``pi * lam * spend * (1 - exp(-(mu + delta) h)) / (mu + delta)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import torch

FloatArray = npt.NDArray[np.float64]

WEEKS_PER_YEAR = 365.25 / 7
_CHUNK = 8192
_MAX_COUNT = 5000  # a quantile above this is reported as this (no customer comes close)


@dataclass(frozen=True)
class BuyingProcess:
    """Per-customer process parameters, all [N] float64: see module doc."""

    pi: FloatArray
    lam: FloatArray
    mu: FloatArray
    spend: FloatArray


def weekly_discount(annual_rate: float) -> float:
    """Continuous weekly discount rate of an annual rate ``annual_rate`` (requires > -1)."""
    if not annual_rate > -1:
        raise ValueError(f"the annual discount rate must be above -1, got {annual_rate}")
    return math.log1p(annual_rate) / WEEKS_PER_YEAR


def expected_purchases(proc: BuyingProcess, horizon: FloatArray) -> FloatArray:
    """E[N(h)], the model's own formula (`CustomerSequenceModel.forecast`)."""
    out: FloatArray = proc.pi * proc.lam * -np.expm1(-proc.mu * horizon) / proc.mu
    return out


def discounted_value(proc: BuyingProcess, horizon: FloatArray, delta: float) -> FloatArray:
    """Expected discounted spend over the horizon (see module doc)."""
    rate = proc.mu + delta
    out: FloatArray = proc.pi * proc.lam * proc.spend * -np.expm1(-rate * horizon) / rate
    return out


def count_interval(
    proc: BuyingProcess, horizon: FloatArray, level: float = 0.8
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """An interval ``[low, high]`` of N(h) whose probability is as close to ``level`` as a
    count allows.

    ``low`` is the ``(1 - level) / 2`` quantile (the least k with P(N <= k) >= that); ``high``
    the k >= low for which P(low <= N <= k) is closest to ``level``. A count rarely has an
    interval of exactly 80%: the usual pair of quantiles (10% and 90%) holds at least 80% and,
    for the many customers whose 10% quantile is 0, nearer 90%; choosing ``high`` by the mass
    keeps the interval's own probability near ``level`` on average.

    Customers are handled in chunks sorted by ``lam h`` so each chunk sums only as many terms
    as its heaviest buyer needs.
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    n = len(proc.pi)
    low = np.zeros(n, dtype=np.int64)
    high = np.zeros(n, dtype=np.int64)
    order = np.argsort(proc.lam * horizon, kind="stable")
    for lo in range(0, n, _CHUNK):
        rows = order[lo : lo + _CHUNK]
        low[rows], high[rows] = _chunk_interval(proc, horizon, rows, level)
    return low, high


def count_cdf(proc: BuyingProcess, horizon: FloatArray, top: int) -> torch.Tensor:
    """P(N(h) <= k) for k = 0..top, [N, top + 1] float64 (see module doc)."""
    pi, lam, mu, h = (
        torch.from_numpy(np.ascontiguousarray(v, dtype=np.float64))[:, None]
        for v in (proc.pi, proc.lam, proc.mu, horizon)
    )
    k = torch.arange(top + 1, dtype=torch.float64)[None, :]
    log_factorial = torch.lgamma(k + 1)
    total = lam + mu
    log_r = torch.log(lam) - torch.log(total)
    # P(Gamma(k + 1) <= x) = P(Poisson(x) > k): cheaper than the incomplete gamma, and exact.
    x = total * h
    gamma_cdf = (1 - torch.cumsum(_poisson_pmf(k, x, log_factorial), dim=1)).clamp(min=0)
    ended = (mu / total) * torch.exp(k * log_r) * gamma_cdf
    lam_h = lam * h
    poisson = _poisson_pmf(k, lam_h, log_factorial)
    pmf = pi * (ended + torch.exp(-mu * h) * poisson)
    pmf[:, 0] += (1 - pi)[:, 0]
    return torch.cumsum(pmf, dim=1)


def _poisson_pmf(k: torch.Tensor, mean: torch.Tensor, log_factorial: torch.Tensor) -> torch.Tensor:
    return torch.exp(k * torch.log(mean) - mean - log_factorial)


def _chunk_interval(
    proc: BuyingProcess, horizon: FloatArray, rows: npt.NDArray[np.intp], level: float
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    sub = BuyingProcess(proc.pi[rows], proc.lam[rows], proc.mu[rows], proc.spend[rows])
    mean_max = float((sub.lam * horizon[rows]).max())
    top = min(_MAX_COUNT, math.ceil(mean_max + 10 * math.sqrt(mean_max) + 10))
    cdf = count_cdf(sub, horizon[rows], top)
    # A tolerance keeps rounding (the pmf summing a hair under 1) from pushing a quantile off.
    low = (cdf < (1 - level) / 2 - 1e-12).sum(dim=1).clamp(max=top)
    below_low = torch.where(
        low > 0, cdf.gather(1, (low - 1).clamp(min=0)[:, None])[:, 0], torch.zeros_like(cdf[:, 0])
    )
    mass = cdf - below_low[:, None]  # P(low <= N <= k)
    k = torch.arange(top + 1)[None, :]
    distance = torch.where(k >= low[:, None], (mass - level).abs(), torch.inf)
    high = distance.argmin(dim=1)
    return low.numpy().astype(np.int64), high.numpy().astype(np.int64)
