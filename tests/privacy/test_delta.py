"""A partner's δ is its own: fixed once in its ledger, never the run's to choose or raise."""

from __future__ import annotations

from pathlib import Path

import pytest

from privacy import LedgerError, PrivacyConfigError, PrivacyLedger, check_delta_bound, partner_delta


def test_the_first_round_fixes_the_ledgers_delta_at_the_partners_default(tmp_path: Path) -> None:
    ledger = PrivacyLedger(tmp_path / "privacy.sqlite")
    assert ledger.fixed_delta() is None

    delta = partner_delta(ledger, requested=1e-5, configured=None, num_customers=1_700)

    assert delta == 1e-5  # min(1e-5, 1 / 17000)
    assert PrivacyLedger(tmp_path / "privacy.sqlite").fixed_delta() == 1e-5


def test_a_large_partners_default_delta_is_a_tenth_of_one_over_n(tmp_path: Path) -> None:
    ledger = PrivacyLedger(tmp_path / "privacy.sqlite")
    delta = partner_delta(ledger, requested=1e-6, configured=None, num_customers=100_000)
    assert delta == 1e-6


def test_a_run_asking_for_delta_0_05_is_refused_and_the_ledger_keeps_its_delta(
    tmp_path: Path,
) -> None:
    ledger = PrivacyLedger(tmp_path / "privacy.sqlite")
    partner_delta(ledger, requested=1e-5, configured=None, num_customers=1_700)

    reason = partner_delta(ledger, requested=0.05, configured=None, num_customers=1_700)

    assert isinstance(reason, str) and reason.startswith("refused:")
    assert "0.05" in reason and "fixed at 1e-05" in reason
    assert ledger.fixed_delta() == 1e-5


def test_the_run_cannot_pick_delta_on_a_new_ledger_either(tmp_path: Path) -> None:
    ledger = PrivacyLedger(tmp_path / "privacy.sqlite")
    reason = partner_delta(ledger, requested=0.05, configured=None, num_customers=1_700)
    assert isinstance(reason, str) and "refused" in reason
    assert ledger.fixed_delta() == 1e-5  # the partner's default, not the run's request


def test_a_partners_own_delta_above_one_over_n_is_refused_and_not_fixed(tmp_path: Path) -> None:
    ledger = PrivacyLedger(tmp_path / "privacy.sqlite")
    reason = partner_delta(ledger, requested=0.05, configured=0.05, num_customers=1_700)
    assert isinstance(reason, str) and "above 1/n" in reason
    assert ledger.fixed_delta() is None


def test_a_partners_configured_delta_is_the_one_fixed(tmp_path: Path) -> None:
    ledger = PrivacyLedger(tmp_path / "privacy.sqlite")
    assert partner_delta(ledger, requested=1e-7, configured=1e-7, num_customers=500) == 1e-7
    # Later node configs do not move it.
    later = partner_delta(ledger, requested=1e-6, configured=1e-6, num_customers=500)
    assert isinstance(later, str) and "fixed at 1e-07" in later


def test_recording_a_round_at_another_delta_is_refused_by_the_ledger(tmp_path: Path) -> None:
    ledger = PrivacyLedger(tmp_path / "privacy.sqlite")
    common = {"noise_multiplier": 1.0, "sample_rate": 0.1, "steps": 10, "accountant": "rdp"}
    ledger.record(run_id="r", round=1, target_delta=1e-5, **common)  # type: ignore[arg-type]
    with pytest.raises(LedgerError, match="fixed at 1e-05"):
        ledger.record(run_id="r", round=2, target_delta=0.05, **common)  # type: ignore[arg-type]
    assert len(ledger.entries()) == 1


def test_an_old_ledger_takes_the_delta_of_its_first_round(tmp_path: Path) -> None:
    import sqlite3

    ledger = PrivacyLedger(tmp_path / "privacy.sqlite")
    ledger.record(
        run_id="r", round=1, noise_multiplier=1.0, sample_rate=0.1, steps=10,
        target_delta=2e-6, accountant="rdp",
    )  # fmt: skip
    with sqlite3.connect(tmp_path / "privacy.sqlite") as conn:
        conn.execute("DELETE FROM ledger_meta WHERE key = 'target_delta'")
    assert PrivacyLedger(tmp_path / "privacy.sqlite").fixed_delta() == 2e-6


@pytest.mark.parametrize(("delta", "n"), [(0.05, 100), (1e-2, 101), (0.0, 10)])
def test_a_delta_above_one_over_n_is_refused_with_a_clear_message(delta: float, n: int) -> None:
    with pytest.raises(PrivacyConfigError, match=r"target-delta .* 1/n"):
        check_delta_bound(delta, n, where="partner-0")


def test_a_delta_at_most_one_over_n_passes() -> None:
    check_delta_bound(1e-5, 1_700)
    check_delta_bound(0.01, 100)
