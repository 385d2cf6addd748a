from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import integrate, special

from insight.baselines import (
    BGNBDParams,
    bgnbd_expected_purchases,
    bgnbd_expected_spend,
    bgnbd_log_likelihood,
    bgnbd_prob_alive,
    bgnbd_prob_any,
    fit_bgnbd,
)
from insight.datasets import load_cdnow_sample
from insight.protocol import Periods, calibration_summary

# Fader, Hardie & Lee (2005), Table 1: the BG/NBD fit to the CDNOW 1/10 sample.
PUBLISHED = BGNBDParams(r=0.243, alpha=4.414, a=0.793, b=2.426, log_likelihood=-9582.4)

# (x, t_x, T) spanning no repeats, light and very heavy buyers.
CUSTOMERS = [
    (0, 0.0, 38.86),
    (2, 30.43, 38.86),
    (7, 29.43, 38.86),
    (29, 37.71, 38.0),
    (400, 38.0, 39.0),
]


def _by_quadrature(params: BGNBDParams, t: float, x: int, t_x: float, T: float) -> float:
    """E[X(t) | x, t_x, T] integrating the alive-posterior over p (lambda in closed form).

    Given activity, lambda ~ Gamma(r+x, alpha+T) and p ~ Beta(a, b+x) independently, and an
    active customer expects (1 - exp(-lambda p t)) / p purchases in t.
    """
    r, alpha, a, b = params.r, params.alpha, params.a, params.b

    def integrand(p: float) -> float:
        none = ((alpha + T) / (alpha + T + p * t)) ** (r + x)
        log_density = (a - 1) * np.log(p) + (b + x - 1) * np.log1p(-p) - special.betaln(a, b + x)
        return float(-np.expm1(np.log(none)) / p * np.exp(log_density))

    value, _ = integrate.quad(integrand, 0.0, 1.0, limit=200)
    return float(bgnbd_prob_alive(params, x, t_x, T)) * float(value)


def test_fit_matches_the_published_cdnow_sample_fit(
    cdnow_sample_path: Path, cdnow_periods: Periods
) -> None:
    events = load_cdnow_sample(cdnow_sample_path).events
    summary = calibration_summary(events, cdnow_periods)

    fitted = fit_bgnbd(summary["x"], summary["t_x"], summary["T"])

    assert fitted.r == pytest.approx(PUBLISHED.r, abs=5e-4)
    assert fitted.alpha == pytest.approx(PUBLISHED.alpha, abs=5e-4)
    assert fitted.a == pytest.approx(PUBLISHED.a, abs=5e-4)
    assert fitted.b == pytest.approx(PUBLISHED.b, abs=5e-4)
    assert fitted.log_likelihood == pytest.approx(PUBLISHED.log_likelihood, abs=0.1)


def test_fit_recovers_simulated_parameters() -> None:
    rng = np.random.default_rng(7)
    truth = BGNBDParams(r=0.5, alpha=3.0, a=1.5, b=4.0, log_likelihood=0.0)
    n, horizon = 6000, 52.0
    lam = rng.gamma(truth.r, 1.0 / truth.alpha, n)
    p = rng.beta(truth.a, truth.b, n)
    x = np.zeros(n)
    t_x = np.zeros(n)
    for i in range(n):
        clock = 0.0
        while True:
            clock += rng.exponential(1.0 / lam[i])
            if clock > horizon:
                break
            x[i] += 1
            t_x[i] = clock
            if rng.random() < p[i]:
                break

    fitted = fit_bgnbd(x, t_x, np.full(n, horizon))

    assert fitted.r == pytest.approx(truth.r, rel=0.15)
    assert fitted.alpha == pytest.approx(truth.alpha, rel=0.25)
    assert fitted.a / (fitted.a + fitted.b) == pytest.approx(truth.a / (truth.a + truth.b), rel=0.2)


def test_fit_reports_its_own_log_likelihood() -> None:
    x, t_x, T = [0, 1, 3, 0, 2], [0.0, 4.0, 20.0, 0.0, 30.0], [30.0, 30.0, 31.0, 25.0, 32.0]

    fitted = fit_bgnbd(x, t_x, T)

    assert fitted.log_likelihood == pytest.approx(bgnbd_log_likelihood(fitted, x, t_x, T))


def test_fit_rejects_inconsistent_or_uninformative_summaries() -> None:
    with pytest.raises(ValueError, match="t_x"):
        fit_bgnbd([1], [5.0], [4.0])
    with pytest.raises(ValueError, match="repeat purchase"):
        fit_bgnbd([0, 0], [0.0, 0.0], [3.0, 4.0])


@pytest.mark.parametrize(("x", "t_x", "T"), CUSTOMERS)
def test_expected_purchases_agree_with_quadrature(x: int, t_x: float, T: float) -> None:
    closed_form = bgnbd_expected_purchases(PUBLISHED, 39.0, x, t_x, T)

    assert float(closed_form) == pytest.approx(_by_quadrature(PUBLISHED, 39.0, x, t_x, T), rel=1e-6)


def test_expected_purchases_reproduce_the_published_example() -> None:
    # Fader, Hardie & Lee (2005): customer 1 of the sample expects 1.226 purchases in 39 weeks.
    assert float(bgnbd_expected_purchases(PUBLISHED, 39.0, 2, 30.43, 38.86)) == pytest.approx(
        1.226, abs=5e-4
    )


def test_expected_purchases_vanish_at_zero_horizon_and_grow_with_it() -> None:
    x, t_x, T = np.array([0, 3]), np.array([0.0, 20.0]), np.array([38.0, 38.0])

    at_zero = bgnbd_expected_purchases(PUBLISHED, 0.0, x, t_x, T)
    short = bgnbd_expected_purchases(PUBLISHED, 10.0, x, t_x, T)
    long = bgnbd_expected_purchases(PUBLISHED, 100.0, x, t_x, T)

    np.testing.assert_array_equal(at_zero, [0.0, 0.0])
    assert (short < long).all()


@pytest.mark.parametrize(("x", "t_x", "T"), CUSTOMERS)
def test_prob_any_is_one_minus_the_likelihood_ratio(x: int, t_x: float, T: float) -> None:
    # No purchase in (T, T+t] given the history has probability L(x, t_x, T+t) / L(x, t_x, T).
    ratio = np.exp(
        bgnbd_log_likelihood(PUBLISHED, x, t_x, T + 39.0)
        - bgnbd_log_likelihood(PUBLISHED, x, t_x, T)
    )

    assert float(bgnbd_prob_any(PUBLISHED, 39.0, x, t_x, T)) == pytest.approx(1 - ratio, rel=1e-9)


def test_prob_any_is_bounded_by_prob_alive() -> None:
    x, t_x, T = (np.array([c[i] for c in CUSTOMERS], dtype=float) for i in range(3))

    prob = bgnbd_prob_any(PUBLISHED, 39.0, x, t_x, T)

    assert ((prob >= 0) & (prob <= bgnbd_prob_alive(PUBLISHED, x, t_x, T))).all()


def test_customers_without_repeats_are_alive() -> None:
    assert float(bgnbd_prob_alive(PUBLISHED, 0, 0.0, 30.0)) == 1.0


def test_expected_spend_scales_purchases_by_monetary() -> None:
    purchases = bgnbd_expected_purchases(PUBLISHED, 39.0, [2, 0], [30.43, 0.0], [38.86, 38.86])

    spend = bgnbd_expected_spend(PUBLISHED, 39.0, [2, 0], [30.43, 0.0], [38.86, 38.86], [10.0, 4.0])

    np.testing.assert_allclose(spend, purchases * [10.0, 4.0])


def test_expected_purchases_stay_finite_when_the_dropout_distribution_is_nearly_a_point() -> None:
    """A fit on a 118-customer synthetic partner gave a ~ 3.8e4 and b ~ 1.6e5 (the dropout
    probability nearly fixed at p = a/(a+b)); the Euler form then multiplied 0 by inf and gave
    NaN for every customer. In that limit the bracket is ``1 - (1 - p w)^-(r+x)``,
    ``w = z/(z-1)``, and the forecast is that over ``p``, times P(alive)."""
    params = BGNBDParams(r=0.4229, alpha=6.117, a=38287.2, b=162753.4, log_likelihood=0.0)
    x = np.array([0.0, 1.0, 3.0, 12.0])
    t_x = np.array([0.0, 5.0, 20.0, 36.0])
    big_t = np.full(4, 39.0)
    t = 39.0

    got = bgnbd_expected_purchases(params, t, x, t_x, big_t)

    p = params.a / (params.a + params.b)
    z = t / (params.alpha + big_t + t)
    w = z / (z - 1.0)
    alive = bgnbd_prob_alive(params, x, t_x, big_t)
    limit = (1.0 - (1.0 - p * w) ** -(params.r + x)) / p * alive
    assert np.isfinite(got).all()
    np.testing.assert_allclose(got, limit, rtol=1e-3)
