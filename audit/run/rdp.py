"""The verifier's own RDP accountant for the Poisson-subsampled Gaussian mechanism.

Written from the published closed forms, with the standard library only, so that a privacy
officer recomputes ε without the node's accountant (Opacus) or any of the project's code:

- RDP of one step at order a (Mironov, Talwar, Zhang, "Renyi Differential Privacy of the
  Sampled Gaussian Mechanism", 2019, section 3.3) is ``log(A_a) / (a - 1)``. For integer a,
  ``A_a = sum_{k=0..a} C(a,k) (1-q)^(a-k) q^k exp((k^2-k) / (2 s^2))`` (s: noise multiplier);
  for fractional a, with ``z0 = s^2 log(1/q - 1) + 1/2``, ``A_a`` is the sum over i >= 0 of
  ``C(a,i) q^i (1-q)^(a-i) exp((i^2-i)/(2 s^2)) erfc((i-z0)/(sqrt(2) s)) / 2`` and the same
  with i and a-i swapped in the powers and the exponent, and erfc's argument ``(z0-(a-i))``,
  summed until both terms fall below e^-30. At q = 1 it is the Gaussian mechanism's
  ``a / (2 s^2)``.
- Steps compose by adding RDP; conversion to (ε, δ) (Balle et al. 2020, Theorem 21):
  ``ε = min_a RDP(a) - (log δ + log a) / (a - 1) + log((a - 1) / a)``.
- Orders: 1.1, 1.2, ..., 10.9 and 12, 13, ..., 63 (the set Opacus's RDP accountant uses, so
  both sides optimise over the same a and agree to rounding).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Sequence

__all__ = ["ORDERS", "rdp_epsilon"]

ORDERS: tuple[float, ...] = tuple([1 + x / 10.0 for x in range(1, 100)] + list(range(12, 64)))
_STOP = -30.0


def _log_sum(terms: Iterable[tuple[float, int]]) -> float:
    """log(sum sign·e^term) for (term, sign) pairs whose sum is positive."""
    positive: list[float] = []
    negative: list[float] = []
    for term, sign in terms:
        (positive if sign > 0 else negative).append(term)
    top = float(max(positive))
    total = math.fsum(math.exp(t - top) for t in positive) - math.fsum(
        math.exp(t - top) for t in negative
    )
    return top + math.log(total)


def _log_erfc(x: float) -> float:
    if x < 20.0:
        return math.log(math.erfc(x))
    # Asymptotic expansion of erfc for large x (erfc underflows near x = 26.5).
    inv = 1.0 / (x * x)
    return -x * x - math.log(x) - 0.5 * math.log(math.pi) + math.log1p(-inv / 2 + 0.75 * inv**2)


def _log_a_int(q: float, sigma: float, alpha: int) -> float:
    terms = []
    for k in range(alpha + 1):
        log_coef = math.lgamma(alpha + 1) - math.lgamma(k + 1) - math.lgamma(alpha - k + 1)
        log_term = log_coef + k * math.log(q) + (alpha - k) * math.log1p(-q)
        terms.append((log_term + (k * k - k) / (2 * sigma**2), 1))
    return _log_sum(terms)


def _log_a_frac(q: float, sigma: float, alpha: float) -> float:
    z0 = sigma**2 * math.log(1 / q - 1) + 0.5
    scale = math.sqrt(2) * sigma
    terms: list[tuple[float, int]] = []
    coef = 1.0  # C(alpha, i), the generalised binomial coefficient, built up term by term
    i = 0
    while True:
        j = alpha - i
        log_coef = math.log(abs(coef))
        sign = 1 if coef > 0 else -1
        head = log_coef + i * math.log(q) + j * math.log1p(-q)
        tail = log_coef + j * math.log(q) + i * math.log1p(-q)
        s0 = head + (i * i - i) / (2 * sigma**2) + math.log(0.5) + _log_erfc((i - z0) / scale)
        s1 = tail + (j * j - j) / (2 * sigma**2) + math.log(0.5) + _log_erfc((z0 - j) / scale)
        terms += [(s0, sign), (s1, sign)]
        if max(s0, s1) < _STOP:
            return _log_sum(terms)
        coef *= (alpha - i) / (i + 1)
        i += 1


@functools.lru_cache(maxsize=65536)
def _step_rdp(sigma: float, q: float, alpha: float) -> float:
    if q == 1.0:
        return alpha / (2 * sigma**2)
    if float(alpha).is_integer():
        return _log_a_int(q, sigma, int(alpha)) / (alpha - 1)
    return _log_a_frac(q, sigma, alpha) / (alpha - 1)


def rdp_epsilon(history: Sequence[tuple[float, float, int]], delta: float) -> float:
    """ε at ``delta`` of the composed ``(noise_multiplier, sample_rate, steps)`` history.

    Requires ``noise_multiplier > 0``, ``0 < sample_rate <= 1``, ``steps >= 0`` and
    ``0 < delta < 1``; 0.0 for a history without steps.
    """
    merged: dict[tuple[float, float], int] = {}
    for sigma, q, steps in history:
        if steps:
            merged[(float(sigma), float(q))] = merged.get((float(sigma), float(q)), 0) + steps
    if not merged:
        return 0.0
    best = math.inf
    for alpha in ORDERS:
        rdp = sum(steps * _step_rdp(sigma, q, alpha) for (sigma, q), steps in merged.items())
        eps = (
            rdp - (math.log(delta) + math.log(alpha)) / (alpha - 1) + math.log((alpha - 1) / alpha)
        )
        if not math.isnan(eps):
            best = min(best, eps)
    return best
