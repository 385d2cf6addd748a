"""The buying process's count distribution, its 80% interval and the discounted value."""

from __future__ import annotations

import math

import numpy as np
import pytest

from insight.scoring.process import (
    BuyingProcess,
    count_cdf,
    count_interval,
    discounted_value,
    expected_purchases,
    weekly_discount,
)


def _proc(pi: list[float], lam: list[float], mu: list[float]) -> BuyingProcess:
    n = len(pi)
    return BuyingProcess(
        pi=np.array(pi), lam=np.array(lam), mu=np.array(mu), spend=np.full(n, 30.0)
    )


def test_the_count_distribution_sums_to_one_and_has_the_models_mean() -> None:
    proc = _proc([0.2, 0.7, 0.95], [0.05, 0.4, 1.5], [0.01, 0.05, 0.002])
    horizon = np.full(3, 39.0)
    cdf = count_cdf(proc, horizon, top=400).numpy()
    pmf = np.diff(cdf, axis=1, prepend=0.0)
    assert cdf[:, -1] == pytest.approx(1.0, abs=1e-9)
    assert (pmf * np.arange(401)).sum(axis=1) == pytest.approx(
        expected_purchases(proc, horizon), rel=1e-6
    )


def test_the_count_distribution_matches_a_simulation_of_the_process() -> None:
    rng = np.random.default_rng(0)
    pi, lam, mu, h, draws = 0.6, 0.3, 0.04, 39.0, 200_000
    alive = rng.random(draws) < pi
    life = np.minimum(rng.exponential(1 / mu, draws), h)
    counts = np.where(alive, rng.poisson(lam * life), 0)
    cdf = count_cdf(_proc([pi], [lam], [mu]), np.array([h]), top=60).numpy()[0]
    empirical = np.array([(counts <= k).mean() for k in range(61)])
    assert np.abs(cdf - empirical).max() < 0.005


def test_the_interval_holds_about_eighty_percent_under_the_model() -> None:
    proc = _proc([0.3, 0.6, 0.9, 0.99], [0.05, 0.2, 0.8, 3.0], [0.02, 0.05, 0.01, 0.001])
    horizon = np.full(4, 39.0)
    low, high = count_interval(proc, horizon, 0.8)
    cdf = count_cdf(proc, horizon, top=600).numpy()
    below = np.where(low > 0, cdf[np.arange(4), np.maximum(low - 1, 0)], 0.0)
    mass = cdf[np.arange(4), high] - below
    assert (low <= high).all()
    assert np.abs(mass - 0.8).max() < 0.15  # a count's steps: as close as the count allows
    assert high[-1] > 80  # the heavy buyer: ~117 expected purchases


def test_the_low_end_is_the_ten_percent_quantile() -> None:
    proc = _proc([0.99], [3.0], [0.001])
    low, _ = count_interval(proc, np.array([39.0]), 0.8)
    cdf = count_cdf(proc, np.array([39.0]), top=600).numpy()[0]
    assert cdf[low[0]] >= 0.1 > cdf[low[0] - 1]


def test_discounting_uses_the_continuous_weekly_rate_of_the_annual_rate() -> None:
    assert weekly_discount(0.10) == pytest.approx(math.log(1.1) / (365.25 / 7))
    proc = _proc([0.5], [0.2], [0.03])
    h = np.array([52.0])
    undiscounted = expected_purchases(proc, h) * proc.spend
    assert discounted_value(proc, h, 0.0) == pytest.approx(undiscounted)
    assert discounted_value(proc, h, weekly_discount(0.10))[0] < undiscounted[0]


def test_a_discount_rate_of_minus_one_or_less_is_refused() -> None:
    with pytest.raises(ValueError, match="above -1"):
        weekly_discount(-1.0)
