"""Epsilon of a history of DP-SGD steps, and the noise that reaches a target, via Opacus.

A history is a sequence of ``(noise_multiplier, sample_rate, steps)`` entries, each a run of
``steps`` Poisson-subsampled Gaussian mechanism steps, as Opacus's accountants keep it. The
entries compose in any order, so entries with the same ``(noise_multiplier, sample_rate)`` are
merged first: same epsilon, fewer convolutions for the PRV accountant.

The RDP path is ``RDPAccountant.get_epsilon`` computed piecewise: Opacus's ``compute_rdp`` of one
step is cached per ``(noise_multiplier, sample_rate)`` and scaled by the steps, which is how
Opacus itself scales it, so the result is the accountant's to the last bit (a test checks) while
replanning a ledger's rounds costs a cache hit instead of tens of milliseconds per round.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import numpy.typing as npt
from opacus.accountants import PRVAccountant, RDPAccountant
from opacus.accountants.analysis import rdp as rdp_analysis
from opacus.accountants.utils import get_noise_multiplier

from privacy.config import ACCOUNTANTS, Accountant, check_positive
from privacy.errors import PrivacyConfigError

HistoryEntry = tuple[float, float, int]
PRV_MAX_EPSILON = 50.0


def epsilon_for(
    history: Sequence[HistoryEntry], *, target_delta: float, accountant: Accountant
) -> float:
    """Epsilon spent by ``history`` at ``target_delta``; 0.0 for an empty history.

    Requires each ``noise_multiplier > 0``, ``0 < sample_rate <= 1``, ``steps >= 0`` and
    ``0 < target_delta < 1``. The PRV accountant returns its upper bound (Opacus's default
    ``eps_error=0.01``), so both accountants err on the side of more epsilon. Where the RDP
    epsilon is above ``PRV_MAX_EPSILON`` the PRV accountant is not run and the RDP figure, also
    an upper bound, is returned: PRV's discretisation grows without bound there (minutes, then
    inf), and no budget is that large.
    """
    _check_delta(target_delta)
    merged = _merge(history)
    if not merged:
        return 0.0
    with _quiet():
        eps = _rdp_epsilon(merged, target_delta)
        if accountant != "rdp" and eps <= PRV_MAX_EPSILON:
            acct = _accountant(accountant)
            acct.history = merged
            eps = float(acct.get_epsilon(delta=target_delta))
    if math.isnan(eps):
        raise PrivacyConfigError(f"the {accountant} accountant returned NaN for {merged}")
    return eps


def calibrate_noise(
    *,
    target_epsilon: float,
    target_delta: float,
    sample_rate: float,
    steps: int,
    accountant: Accountant,
    alongside: Sequence[HistoryEntry] = (),
) -> float:
    """The smallest noise multiplier (to Opacus's tolerance of 0.01 in epsilon) whose
    ``steps`` steps at ``sample_rate`` spend at most ``target_epsilon``; with ``alongside``
    (other mechanisms of the same run, e.g. its charged evaluations), whose steps composed with
    those spend at most ``target_epsilon``.

    Raises ``PrivacyConfigError`` when no noise multiplier up to Opacus's limit reaches it.
    """
    check_positive("target_epsilon", target_epsilon)
    _check_delta(target_delta)
    _check_entry(1.0, sample_rate, steps)
    if steps == 0:
        raise PrivacyConfigError("cannot calibrate noise for 0 steps")
    if accountant not in ACCOUNTANTS:
        raise PrivacyConfigError(f"accountant must be one of {ACCOUNTANTS}, got {accountant!r}")
    if alongside:
        return _calibrate_alongside(
            target_epsilon, target_delta, sample_rate, steps, accountant, list(alongside)
        )
    try:
        with _quiet():
            sigma = get_noise_multiplier(
                target_epsilon=target_epsilon,
                target_delta=target_delta,
                sample_rate=sample_rate,
                steps=steps,
                accountant=accountant,
            )
    except ValueError as exc:
        raise PrivacyConfigError(
            f"no noise multiplier reaches epsilon {target_epsilon} at delta {target_delta} "
            f"over {steps} steps at sample rate {sample_rate}: {exc}"
        ) from exc
    return float(sigma)


def _calibrate_alongside(
    target_epsilon: float,
    target_delta: float,
    sample_rate: float,
    steps: int,
    accountant: Accountant,
    alongside: list[HistoryEntry],
) -> float:
    """Bisection for the smallest sigma with epsilon(alongside + sigma's steps) <= target (the
    epsilon falls as sigma grows), to 0.1% of sigma."""

    def spent(sigma: float) -> float:
        history = [*alongside, (sigma, sample_rate, steps)]
        return epsilon_for(history, target_delta=target_delta, accountant=accountant)

    floor = epsilon_for(alongside, target_delta=target_delta, accountant=accountant)
    if floor >= target_epsilon:
        raise PrivacyConfigError(
            f"the run's other releases alone spend epsilon {floor:.3f}, not below the target "
            f"{target_epsilon}: no noise multiplier for training reaches it"
        )
    low, high = 0.0, 0.5
    while spent(high) > target_epsilon:
        low, high = high, high * 2
        if high > 1e4:
            raise PrivacyConfigError(
                f"no noise multiplier up to 1e4 reaches epsilon {target_epsilon} at delta "
                f"{target_delta} over {steps} steps at sample rate {sample_rate}"
            )
    while high - low > 1e-3 * high:
        mid = (low + high) / 2
        if spent(mid) > target_epsilon:
            low = mid
        else:
            high = mid
    return high


def _rdp_epsilon(history: list[HistoryEntry], target_delta: float) -> float:
    rdp = sum(steps * _one_step_rdp(sigma, q) for sigma, q, steps in history)
    eps, _ = rdp_analysis.get_privacy_spent(
        orders=RDPAccountant.DEFAULT_ALPHAS, rdp=rdp, delta=target_delta
    )
    return float(eps)


@functools.lru_cache(maxsize=1024)
def _one_step_rdp(noise_multiplier: float, sample_rate: float) -> npt.NDArray[np.float64]:
    rdp: npt.NDArray[np.float64] = rdp_analysis.compute_rdp(
        q=sample_rate,
        noise_multiplier=noise_multiplier,
        steps=1,
        orders=RDPAccountant.DEFAULT_ALPHAS,
    )
    rdp.setflags(write=False)
    return rdp


@contextmanager
def _quiet() -> Iterator[None]:
    """Silence what Opacus says at extreme parameters (as in calibration's search): an optimal
    RDP order at the edge of the range only means the bound is looser than it could be, and the
    PRV accountant's log(0) at sample rate 1 is harmless."""
    with warnings.catch_warnings(), np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        warnings.filterwarnings("ignore", message="Optimal order is the", category=UserWarning)
        yield


def _accountant(name: Accountant) -> RDPAccountant | PRVAccountant:
    if name == "rdp":
        return RDPAccountant()
    if name == "prv":
        return PRVAccountant()
    raise PrivacyConfigError(f"accountant must be one of {ACCOUNTANTS}, got {name!r}")


def _merge(history: Sequence[HistoryEntry]) -> list[HistoryEntry]:
    steps_by_key: dict[tuple[float, float], int] = {}
    for noise_multiplier, sample_rate, steps in history:
        _check_entry(noise_multiplier, sample_rate, steps)
        if steps == 0:
            continue
        key = (float(noise_multiplier), float(sample_rate))
        steps_by_key[key] = steps_by_key.get(key, 0) + int(steps)
    return [(sigma, q, steps) for (sigma, q), steps in steps_by_key.items()]


def _check_entry(noise_multiplier: float, sample_rate: float, steps: int) -> None:
    check_positive("noise_multiplier", noise_multiplier)
    if not 0 < sample_rate <= 1:
        raise PrivacyConfigError(f"sample_rate must be in (0, 1], got {sample_rate}")
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps < 0:
        raise PrivacyConfigError(f"steps must be an integer >= 0, got {steps!r}")


def _check_delta(target_delta: float) -> None:
    if not 0 < target_delta < 1:
        raise PrivacyConfigError(f"target_delta must be in (0, 1), got {target_delta}")
