"""The persistent privacy ledger: a real SQLite file, reopened, appended to, never rewritten."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from privacy import BudgetExceededError, LedgerError, PrivacyLedger, epsilon_for


def _record(
    ledger: PrivacyLedger, run_id: str = "run-1", rnd: int = 1, budget: float | None = None
) -> float:
    entry = ledger.record(
        run_id=run_id,
        round=rnd,
        noise_multiplier=1.0,
        sample_rate=0.01,
        steps=500,
        target_delta=1e-5,
        accountant="rdp",
        epsilon_budget=budget,
    )
    return entry.epsilon_after


def test_a_new_ledger_has_spent_nothing(tmp_path: Path) -> None:
    ledger = PrivacyLedger(tmp_path / "privacy.sqlite")
    assert ledger.history() == []
    assert ledger.spent(target_delta=1e-5, accountant="rdp") == 0.0


def test_reopening_the_file_gives_the_same_spent_epsilon(tmp_path: Path) -> None:
    path = tmp_path / "privacy.sqlite"
    first = PrivacyLedger(path)
    _record(first, rnd=1)
    _record(first, rnd=2)
    before = first.spent(target_delta=1e-5, accountant="rdp")

    reopened = PrivacyLedger(path)

    assert reopened.spent(target_delta=1e-5, accountant="rdp") == before
    assert reopened.history() == first.history()


def test_training_twice_spends_twice(tmp_path: Path) -> None:
    ledger = PrivacyLedger(tmp_path / "privacy.sqlite")
    once = _record(ledger, run_id="run-1", rnd=1)
    twice = _record(PrivacyLedger(tmp_path / "privacy.sqlite"), run_id="run-2", rnd=1)

    assert twice > once
    assert twice == pytest.approx(
        epsilon_for([(1.0, 0.01, 1000)], target_delta=1e-5, accountant="rdp"), rel=1e-9
    )


def test_the_same_round_recorded_again_still_counts(tmp_path: Path) -> None:
    ledger = PrivacyLedger(tmp_path / "privacy.sqlite")
    _record(ledger, rnd=3)
    _record(ledger, rnd=3)
    assert len(ledger.entries()) == 2


def test_record_returns_the_cumulative_epsilon_it_stored(tmp_path: Path) -> None:
    ledger = PrivacyLedger(tmp_path / "privacy.sqlite")
    eps = _record(ledger)
    (entry,) = ledger.entries()
    assert entry.epsilon_after == eps == ledger.spent(target_delta=1e-5, accountant="rdp")
    assert (entry.run_id, entry.round, entry.delta, entry.accountant) == ("run-1", 1, 1e-5, "rdp")


def test_record_with_a_budget_refuses_and_writes_nothing(tmp_path: Path) -> None:
    ledger = PrivacyLedger(tmp_path / "privacy.sqlite")
    eps = _record(ledger)
    with pytest.raises(BudgetExceededError) as caught:
        _record(ledger, rnd=2, budget=eps + 0.01)
    assert caught.value.epsilon_before == pytest.approx(eps)
    assert caught.value.epsilon_after > caught.value.epsilon_budget
    assert len(ledger.entries()) == 1


def test_rows_cannot_be_updated_or_deleted(tmp_path: Path) -> None:
    path = tmp_path / "privacy.sqlite"
    _record(PrivacyLedger(path))
    conn = sqlite3.connect(path)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("UPDATE rounds SET steps = 0")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("DELETE FROM rounds")
    finally:
        conn.close()


def test_the_file_is_in_wal_mode_and_holds_no_personal_columns(tmp_path: Path) -> None:
    path = tmp_path / "privacy.sqlite"
    PrivacyLedger(path)
    conn = sqlite3.connect(path)
    try:
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        columns = [row[1] for row in conn.execute("PRAGMA table_info(rounds)")]
    finally:
        conn.close()
    assert mode == "wal"
    assert columns == [
        "seq",
        "run_id",
        "round",
        "noise_multiplier",
        "sample_rate",
        "steps",
        "accountant",
        "epsilon_after",
        "delta",
        "recorded_at",
    ]


@pytest.mark.parametrize("run_id", ["", "jane.doe@example.com", "run 1", "x" * 129])
def test_run_ids_are_short_identifiers_only(tmp_path: Path, run_id: str) -> None:
    ledger = PrivacyLedger(tmp_path / "privacy.sqlite")
    with pytest.raises(LedgerError, match="run_id"):
        _record(ledger, run_id=run_id)


def test_a_file_that_is_not_a_ledger_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "privacy.sqlite"
    path.write_bytes(b"not a database, just some bytes" * 100)
    with pytest.raises(LedgerError, match=str(path)):
        PrivacyLedger(path)
