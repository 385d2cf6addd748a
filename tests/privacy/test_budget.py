"""Planning rounds against the budget: refusals, and the invariant that epsilon never exceeds it."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from privacy import (
    DPConfig,
    PrivacyLedger,
    epsilon_for,
    noise_multiplier_for,
    plan_round,
)

DELTA = 1e-5


def test_a_round_within_the_budget_is_allowed(tmp_path: Path) -> None:
    ledger = PrivacyLedger(tmp_path / "privacy.sqlite")
    decision = plan_round(
        ledger,
        noise_multiplier=1.0,
        sample_rate=0.01,
        steps=1000,
        target_delta=DELTA,
        accountant="rdp",
        epsilon_budget=8.0,
    )
    assert decision.allowed
    assert decision.epsilon_before == 0.0
    assert decision.epsilon_after == pytest.approx(2.101, abs=5e-4)


def test_a_round_past_the_budget_is_refused_and_says_why(tmp_path: Path) -> None:
    ledger = PrivacyLedger(tmp_path / "privacy.sqlite")
    ledger.record(
        run_id="run-1",
        round=1,
        noise_multiplier=1.0,
        sample_rate=0.01,
        steps=1000,
        target_delta=DELTA,
        accountant="rdp",
    )
    decision = plan_round(
        ledger,
        noise_multiplier=1.0,
        sample_rate=0.01,
        steps=1000,
        target_delta=DELTA,
        accountant="rdp",
        epsilon_budget=2.5,
    )
    assert not decision.allowed
    assert decision.epsilon_before == pytest.approx(2.101, abs=5e-4)
    assert decision.epsilon_after > 2.5
    assert "refused" in decision.reason and "2.5000" in decision.reason


def test_the_prv_accountant_refuses_past_the_budget_too(tmp_path: Path) -> None:
    ledger = PrivacyLedger(tmp_path / "privacy.sqlite")
    ledger.record(
        run_id="run-1",
        round=1,
        noise_multiplier=1.0,
        sample_rate=0.01,
        steps=1000,
        target_delta=DELTA,
        accountant="prv",
    )
    decisions = [
        plan_round(
            ledger,
            noise_multiplier=1.0,
            sample_rate=0.01,
            steps=1000,
            target_delta=DELTA,
            accountant="prv",
            epsilon_budget=budget,
        )
        for budget in (2.5, 3.0)
    ]
    refused, allowed = decisions

    assert refused.epsilon_before == pytest.approx(1.838, abs=5e-4)
    assert not refused.allowed
    assert allowed.allowed and allowed.epsilon_after < 3.0


def test_planning_writes_nothing(tmp_path: Path) -> None:
    ledger = PrivacyLedger(tmp_path / "privacy.sqlite")
    plan_round(
        ledger,
        noise_multiplier=1.0,
        sample_rate=0.01,
        steps=10,
        target_delta=DELTA,
        accountant="rdp",
        epsilon_budget=8.0,
    )
    assert ledger.history() == []


def test_noise_multiplier_for_uses_the_fixed_sigma_or_calibrates() -> None:
    assert noise_multiplier_for(DPConfig(), sample_rate=0.01, steps=100, target_delta=DELTA) == 1.0
    sigma = noise_multiplier_for(
        DPConfig(noise_multiplier=None, target_epsilon=2.0),
        sample_rate=0.01,
        steps=1000,
        target_delta=DELTA,
    )
    eps = epsilon_for([(sigma, 0.01, 1000)], target_delta=DELTA, accountant="rdp")
    assert 1.98 <= eps <= 2.0


# sigma and q come from grids so the accountant's per-(sigma, q) work is shared across examples;
# steps and budgets are free.
rounds = st.lists(
    st.tuples(
        st.sampled_from([0.5, 0.7, 1.0, 1.3, 2.0, 4.0]),
        st.sampled_from([0.001, 0.01, 0.03, 0.1, 0.3, 1.0]),
        st.integers(min_value=1, max_value=3000),
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schedule=rounds, budget=st.floats(min_value=0.1, max_value=20.0))
def test_no_schedule_takes_the_ledger_past_its_budget(
    schedule: list[tuple[float, float, int]], budget: float
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ledger = PrivacyLedger(Path(tmp) / "privacy.sqlite")
        for rnd, (sigma, q, steps) in enumerate(schedule):
            decision = plan_round(
                ledger,
                noise_multiplier=sigma,
                sample_rate=q,
                steps=steps,
                target_delta=DELTA,
                accountant="rdp",
                epsilon_budget=budget,
            )
            if decision.allowed:
                ledger.record(
                    run_id="prop",
                    round=rnd,
                    noise_multiplier=sigma,
                    sample_rate=q,
                    steps=steps,
                    target_delta=DELTA,
                    accountant="rdp",
                    epsilon_budget=budget,
                )
            assert ledger.spent(target_delta=DELTA, accountant="rdp") <= budget
