"""Epsilon and noise calibration, pinned against Opacus's accountants."""

from __future__ import annotations

import pytest
from opacus.accountants import RDPAccountant

from privacy import PrivacyConfigError, calibrate_noise, epsilon_for
from privacy.accounting import PRV_MAX_EPSILON
from privacy.config import Accountant

# Opacus 1.6.0, sigma=1.0, q=0.01, 1000 steps, delta=1e-5 (computed once with
# RDPAccountant / PRVAccountant and pinned).
RDP_EPSILON = 2.101
PRV_EPSILON = 1.838


def test_rdp_epsilon_matches_opacus() -> None:
    eps = epsilon_for([(1.0, 0.01, 1000)], target_delta=1e-5, accountant="rdp")
    assert eps == pytest.approx(RDP_EPSILON, abs=5e-4)


def test_prv_epsilon_matches_opacus() -> None:
    eps = epsilon_for([(1.0, 0.01, 1000)], target_delta=1e-5, accountant="prv")
    assert eps == pytest.approx(PRV_EPSILON, abs=5e-4)


def test_rdp_epsilon_of_a_mixed_history_is_exactly_the_accountants() -> None:
    history = [(1.0, 0.01, 300), (2.0, 0.05, 40), (0.8, 0.002, 1000)]
    accountant = RDPAccountant()
    accountant.history = list(history)

    eps = epsilon_for(history, target_delta=1e-6, accountant="rdp")

    assert eps == accountant.get_epsilon(delta=1e-6)


def test_prv_is_tighter_than_rdp_but_close() -> None:
    rdp = epsilon_for([(1.2, 0.02, 400)], target_delta=1e-5, accountant="rdp")
    prv = epsilon_for([(1.2, 0.02, 400)], target_delta=1e-5, accountant="prv")
    assert 0.8 * rdp <= prv <= rdp


def test_prv_falls_back_to_the_rdp_bound_where_epsilon_is_huge() -> None:
    history = [(0.5, 1.0, 3000)]  # PRV alone runs for minutes here
    rdp = epsilon_for(history, target_delta=1e-5, accountant="rdp")
    assert rdp > PRV_MAX_EPSILON
    assert epsilon_for(history, target_delta=1e-5, accountant="prv") == rdp


def test_an_empty_history_spends_nothing() -> None:
    assert epsilon_for([], target_delta=1e-5, accountant="rdp") == 0.0
    assert epsilon_for([(1.0, 0.01, 0)], target_delta=1e-5, accountant="prv") == 0.0


def test_rounds_compose_like_one_run_of_all_their_steps() -> None:
    split = epsilon_for([(1.0, 0.01, 300), (1.0, 0.01, 700)], target_delta=1e-5, accountant="rdp")
    assert split == pytest.approx(RDP_EPSILON, abs=5e-4)


def test_more_steps_spend_more() -> None:
    fewer = epsilon_for([(1.0, 0.01, 500)], target_delta=1e-5, accountant="rdp")
    assert fewer < epsilon_for([(1.0, 0.01, 1000)], target_delta=1e-5, accountant="rdp")


@pytest.mark.parametrize("accountant", ["rdp", "prv"])
def test_calibrated_noise_reaches_the_target_epsilon(accountant: Accountant) -> None:
    sigma = calibrate_noise(
        target_epsilon=3.0,
        target_delta=1e-5,
        sample_rate=0.01,
        steps=1000,
        accountant=accountant,
    )
    eps = epsilon_for([(sigma, 0.01, 1000)], target_delta=1e-5, accountant=accountant)
    assert 2.97 <= eps <= 3.0


@pytest.mark.parametrize(
    ("history", "delta", "message"),
    [
        ([(0.0, 0.01, 10)], 1e-5, "noise_multiplier"),
        ([(1.0, 0.0, 10)], 1e-5, "sample_rate"),
        ([(1.0, 1.5, 10)], 1e-5, "sample_rate"),
        ([(1.0, 0.01, -1)], 1e-5, "steps"),
        ([(1.0, 0.01, 10)], 0.0, "target_delta"),
    ],
)
def test_invalid_history_or_delta_is_refused(
    history: list[tuple[float, float, int]], delta: float, message: str
) -> None:
    with pytest.raises(PrivacyConfigError, match=message):
        epsilon_for(history, target_delta=delta, accountant="rdp")


def test_calibration_refuses_an_unreachable_target() -> None:
    with pytest.raises(PrivacyConfigError, match="no noise multiplier"):
        calibrate_noise(
            target_epsilon=1e-9, target_delta=1e-5, sample_rate=1.0, steps=10**6, accountant="rdp"
        )
